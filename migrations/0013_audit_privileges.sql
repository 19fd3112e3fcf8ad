-- The audit log takes additions only: whatever a role was granted on audit_events (by default
-- privileges, see deploy/postgres/app-role.sql), UPDATE, DELETE and TRUNCATE are taken back from
-- every role but the table's owner. The append-only trigger (0009) refuses them for the owner too.
DO $$
DECLARE grantee text;
BEGIN
  FOR grantee IN
    SELECT DISTINCT pg_get_userbyid(a.grantee) FROM pg_class c, aclexplode(c.relacl) a
    WHERE c.oid = 'audit_events'::regclass AND a.privilege_type IN ('UPDATE', 'DELETE', 'TRUNCATE')
      AND a.grantee <> c.relowner AND a.grantee <> 0
  LOOP
    EXECUTE format('REVOKE UPDATE, DELETE, TRUNCATE ON audit_events FROM %I', grantee);
  END LOOP;
END $$;
