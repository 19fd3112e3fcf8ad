-- Every API replica keeps the deployments in memory and listens on perennial_deployments:
-- any change to which versions serve a model, or to the canary's weight, is announced at once.
CREATE OR REPLACE FUNCTION perennial_notify_deployment() RETURNS trigger AS $$
BEGIN
  IF TG_OP = 'INSERT'
     OR NEW.production_version IS DISTINCT FROM OLD.production_version
     OR NEW.canary_version IS DISTINCT FROM OLD.canary_version
     OR NEW.canary_weight IS DISTINCT FROM OLD.canary_weight
     OR NEW.canary_mode IS DISTINCT FROM OLD.canary_mode THEN
    PERFORM pg_notify('perennial_deployments', NEW.name);
  END IF;
  RETURN NEW;
END;
$$ LANGUAGE plpgsql;
--> statement-breakpoint
CREATE TRIGGER models_deployment_changed AFTER INSERT OR UPDATE ON models
  FOR EACH ROW EXECUTE FUNCTION perennial_notify_deployment();
