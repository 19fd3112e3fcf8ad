CREATE TABLE "model_policies" (
	"model_name" text PRIMARY KEY NOT NULL,
	"policy" jsonb NOT NULL,
	"updated_by" text NOT NULL,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
ALTER TABLE "api_keys" ADD COLUMN "owner" text;--> statement-breakpoint
-- keys made before owners existed belong to a person of the key's name
UPDATE "api_keys" SET "owner" = "name" WHERE "owner" IS NULL;--> statement-breakpoint
ALTER TABLE "api_keys" ALTER COLUMN "owner" SET NOT NULL;--> statement-breakpoint
ALTER TABLE "api_keys" ADD COLUMN "created_by_owner" text;--> statement-breakpoint
ALTER TABLE "feedback" ADD COLUMN "by_owner" text;--> statement-breakpoint
ALTER TABLE "models" ADD COLUMN "canary_workflow_id" text;--> statement-breakpoint
ALTER TABLE "predictions" ADD COLUMN "requested_by" text;--> statement-breakpoint
-- a race before this index could leave two production versions: the newest stays, the others are archived
UPDATE "model_versions" v SET "status" = 'archived' WHERE v."status" = 'production'
  AND EXISTS (SELECT 1 FROM "model_versions" w WHERE w."model_name" = v."model_name" AND w."status" = 'production' AND w."version" > v."version");--> statement-breakpoint
UPDATE "model_versions" v SET "status" = 'rejected' WHERE v."status" = 'canary'
  AND EXISTS (SELECT 1 FROM "model_versions" w WHERE w."model_name" = v."model_name" AND w."status" = 'canary' AND w."version" > v."version");--> statement-breakpoint
CREATE UNIQUE INDEX "model_versions_one_production" ON "model_versions" USING btree ("model_name") WHERE "model_versions"."status" = 'production';--> statement-breakpoint
CREATE UNIQUE INDEX "model_versions_one_canary" ON "model_versions" USING btree ("model_name") WHERE "model_versions"."status" = 'canary';--> statement-breakpoint
-- The audit log is append-only in the database itself: whoever connects, rows are never changed or removed.
CREATE OR REPLACE FUNCTION perennial_audit_append_only() RETURNS trigger AS $$
BEGIN
  RAISE EXCEPTION 'audit_events is append-only: % refused', TG_OP USING ERRCODE = 'insufficient_privilege';
END;
$$ LANGUAGE plpgsql;--> statement-breakpoint
CREATE TRIGGER audit_events_append_only BEFORE UPDATE OR DELETE ON "audit_events"
  FOR EACH ROW EXECUTE FUNCTION perennial_audit_append_only();--> statement-breakpoint
CREATE TRIGGER audit_events_no_truncate BEFORE TRUNCATE ON "audit_events"
  FOR EACH STATEMENT EXECUTE FUNCTION perennial_audit_append_only();
