CREATE TABLE "data_contracts" (
	"model_name" text PRIMARY KEY NOT NULL,
	"reference_hash" text NOT NULL,
	"columns" jsonb NOT NULL,
	"previous_hash" text NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
ALTER TABLE "data_contracts" ADD CONSTRAINT "data_contracts_reference_hash_datasets_hash_fk" FOREIGN KEY ("reference_hash") REFERENCES "public"."datasets"("hash") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "data_contracts" ADD CONSTRAINT "data_contracts_previous_hash_datasets_hash_fk" FOREIGN KEY ("previous_hash") REFERENCES "public"."datasets"("hash") ON DELETE no action ON UPDATE no action;