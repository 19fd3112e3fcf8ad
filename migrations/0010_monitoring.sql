CREATE TABLE "drift_references" (
	"model_name" text NOT NULL,
	"version" integer NOT NULL,
	"dataset_hash" text NOT NULL,
	"rows" integer NOT NULL,
	"artifact_key" text NOT NULL,
	"threshold_bases" jsonb DEFAULT '{}'::jsonb NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
CREATE TABLE "drift_reports" (
	"id" text PRIMARY KEY NOT NULL,
	"model_name" text NOT NULL,
	"version" integer NOT NULL,
	"window_start" timestamp with time zone NOT NULL,
	"window_end" timestamp with time zone NOT NULL,
	"rows" integer NOT NULL,
	"dataset_drift" boolean NOT NULL,
	"action" text NOT NULL,
	"pipeline_id" text,
	"report" jsonb NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
ALTER TABLE "drift_references" ADD CONSTRAINT "drift_references_dataset_hash_datasets_hash_fk" FOREIGN KEY ("dataset_hash") REFERENCES "public"."datasets"("hash") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
CREATE UNIQUE INDEX "drift_references_model_version" ON "drift_references" USING btree ("model_name","version");--> statement-breakpoint
CREATE INDEX "drift_reports_model_created" ON "drift_reports" USING btree ("model_name","created_at");--> statement-breakpoint
CREATE INDEX "predictions_model_created" ON "predictions" USING btree ("model_name","created_at");