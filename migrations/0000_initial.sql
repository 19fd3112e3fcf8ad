CREATE TYPE "public"."model_task" AS ENUM('classification', 'regression');--> statement-breakpoint
CREATE TYPE "public"."pipeline_status" AS ENUM('running', 'awaiting_approval', 'completed', 'rejected', 'failed', 'cancelled');--> statement-breakpoint
CREATE TYPE "public"."role" AS ENUM('viewer', 'operator', 'approver', 'admin');--> statement-breakpoint
CREATE TYPE "public"."version_status" AS ENUM('candidate', 'rejected', 'approved', 'canary', 'production', 'archived');--> statement-breakpoint
CREATE TABLE "api_keys" (
	"id" text PRIMARY KEY NOT NULL,
	"name" text NOT NULL,
	"role" "role" NOT NULL,
	"token_hash" text NOT NULL,
	"created_by" text,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"revoked_at" timestamp with time zone,
	CONSTRAINT "api_keys_token_hash_unique" UNIQUE("token_hash")
);
--> statement-breakpoint
CREATE TABLE "approvals" (
	"pipeline_id" text PRIMARY KEY NOT NULL,
	"model_name" text NOT NULL,
	"version" integer NOT NULL,
	"decision" text NOT NULL,
	"by_key_id" text,
	"by_name" text,
	"comment" text,
	"decided_at" timestamp with time zone NOT NULL
);
--> statement-breakpoint
CREATE TABLE "audit_events" (
	"id" bigserial PRIMARY KEY NOT NULL,
	"at" timestamp with time zone DEFAULT now() NOT NULL,
	"actor" text NOT NULL,
	"action" text NOT NULL,
	"model_name" text,
	"version" integer,
	"pipeline_id" text,
	"details" jsonb DEFAULT '{}'::jsonb NOT NULL,
	"idempotency_key" text,
	CONSTRAINT "audit_events_idempotency_key_unique" UNIQUE("idempotency_key")
);
--> statement-breakpoint
CREATE TABLE "datasets" (
	"hash" text PRIMARY KEY NOT NULL,
	"source_uri" text NOT NULL,
	"format" text NOT NULL,
	"artifact_key" text NOT NULL,
	"size_bytes" integer NOT NULL,
	"rows" integer NOT NULL,
	"schema" jsonb NOT NULL,
	"statistics" jsonb NOT NULL,
	"first_seen_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
CREATE TABLE "model_versions" (
	"id" serial PRIMARY KEY NOT NULL,
	"model_name" text NOT NULL,
	"version" integer NOT NULL,
	"status" "version_status" DEFAULT 'candidate' NOT NULL,
	"task" "model_task" NOT NULL,
	"dataset_hash" text NOT NULL,
	"target" text NOT NULL,
	"features" jsonb NOT NULL,
	"params" jsonb NOT NULL,
	"metrics" jsonb NOT NULL,
	"artifact_key" text NOT NULL,
	"backend" text NOT NULL,
	"code_version" text NOT NULL,
	"pipeline_id" text NOT NULL,
	"workflow_run_id" text NOT NULL,
	"approved_by" text,
	"approved_at" timestamp with time zone,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "model_versions_model_version" UNIQUE("model_name","version")
);
--> statement-breakpoint
CREATE TABLE "models" (
	"name" text PRIMARY KEY NOT NULL,
	"task" "model_task" NOT NULL,
	"production_version" integer,
	"canary_version" integer,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
CREATE TABLE "pipeline_runs" (
	"id" text PRIMARY KEY NOT NULL,
	"run_id" text NOT NULL,
	"model_name" text NOT NULL,
	"status" "pipeline_status" DEFAULT 'running' NOT NULL,
	"reason" text,
	"started_by" text,
	"request" jsonb NOT NULL,
	"outcome" jsonb,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"ended_at" timestamp with time zone
);
--> statement-breakpoint
ALTER TABLE "model_versions" ADD CONSTRAINT "model_versions_model_name_models_name_fk" FOREIGN KEY ("model_name") REFERENCES "public"."models"("name") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "model_versions" ADD CONSTRAINT "model_versions_dataset_hash_datasets_hash_fk" FOREIGN KEY ("dataset_hash") REFERENCES "public"."datasets"("hash") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
CREATE UNIQUE INDEX "model_versions_pipeline" ON "model_versions" USING btree ("pipeline_id");--> statement-breakpoint
CREATE INDEX "pipeline_runs_model_created" ON "pipeline_runs" USING btree ("model_name","created_at");