CREATE TABLE "feedback" (
	"prediction_id" text PRIMARY KEY NOT NULL,
	"label" text,
	"value" double precision,
	"received_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
CREATE TABLE "predictions" (
	"id" text PRIMARY KEY NOT NULL,
	"model_name" text NOT NULL,
	"version" integer NOT NULL,
	"role" text NOT NULL,
	"shadow_of" text,
	"entity_key" text,
	"features" jsonb NOT NULL,
	"output" jsonb,
	"label" text,
	"value" double precision,
	"error" text,
	"latency_ms" double precision NOT NULL,
	"created_at" timestamp with time zone NOT NULL
);
--> statement-breakpoint
ALTER TABLE "models" ADD COLUMN "canary_weight" integer DEFAULT 0 NOT NULL;--> statement-breakpoint
ALTER TABLE "models" ADD COLUMN "canary_mode" text DEFAULT 'split' NOT NULL;--> statement-breakpoint
CREATE INDEX "predictions_model_version_created" ON "predictions" USING btree ("model_name","version","created_at");