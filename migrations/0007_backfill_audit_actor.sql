-- Audit events written before the actor was structured: "system:<part>" or "<name> (<key id>)".
UPDATE "audit_events" SET
  "actor_kind" = CASE WHEN "actor" LIKE 'system:%' THEN 'system' ELSE 'person' END,
  "actor_id" = CASE
    WHEN "actor" LIKE 'system:%' THEN substr("actor", 8)
    WHEN "actor" ~ ' \([^()]*\)$' THEN substring("actor" from ' \(([^()]*)\)$')
    ELSE "actor" END,
  "actor_name" = CASE
    WHEN "actor" LIKE 'system:%' THEN "actor"
    WHEN "actor" ~ ' \([^()]*\)$' THEN regexp_replace("actor", ' \([^()]*\)$', '')
    ELSE "actor" END
WHERE "actor_kind" IS NULL;
