/**
 * The database roles docker-compose sets up (deploy/postgres/app-role.sql): the schema's owner runs
 * the migrations; the role the API and workers use reads and writes rows, may only add to the audit
 * log, and cannot disable the trigger that keeps it append-only. Shown on PGlite and, where
 * TEST_DATABASE_URL names a server, on PostgreSQL.
 */
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { PGlite } from '@electric-sql/pglite';
import { drizzle as pgliteDrizzle } from 'drizzle-orm/pglite';
import { migrate as pgliteMigrate } from 'drizzle-orm/pglite/migrator';
import postgres from 'postgres';
import { systemActor } from '../../common/actors';
import { writeAudit } from '../../db/audit';
import { migrationsFolder, openDatabase, type Db } from '../../db/client';
import { REPO_ROOT } from '../helpers/platform';

/** app-role.sql with role names of this test's own (roles are shared by a whole PostgreSQL cluster) */
function roleSql(owner: string, app: string) {
  return fs.readFileSync(path.join(REPO_ROOT, 'deploy/postgres/app-role.sql'), 'utf8')
    .replace(/\bperennial_owner\b/g, owner).replace(/\bperennial\b/g, app);
}

interface Session {
  /** runs SQL as this role */
  run(sql: string): Promise<unknown>;
  /** drizzle on this role's connection (on PGlite: on the one session, as whichever role ran last) */
  db: Db;
}

/** What the application role may and may not do, and what the trigger refuses even the owner. */
async function assertRoles(owner: Session, app: Session) {
  await app.run('select 1'); // PGlite has one session: this makes it the application's
  await writeAudit(app.db, { action: 'policy.update', actor: systemActor('roles-test'), model: 'roles', details: { n: 1 } });
  const rows = await app.run(`select count(*)::int as n from audit_events where model_name = 'roles'`) as { n: number }[];
  assert.equal(rows[0].n, 1, 'the application adds to the audit log and reads it');
  await app.run(`insert into model_policies (model_name, policy, updated_by) values ('roles', '{}'::jsonb, 'k')`);
  await app.run(`update model_policies set updated_by = 'k2' where model_name = 'roles'`);
  await app.run(`delete from model_policies where model_name = 'roles'`);

  for (const statement of ['update audit_events set actor_name = $$someone else$$', 'delete from audit_events', 'truncate audit_events']) {
    await assert.rejects(app.run(statement), /permission denied/, `the application role: ${statement}`);
  }
  for (const statement of [
    'alter table audit_events disable trigger audit_events_append_only', 'alter table audit_events disable trigger all',
    'drop trigger audit_events_append_only on audit_events', 'drop table audit_events',
  ]) {
    await assert.rejects(app.run(statement), /must be owner/, `the application role: ${statement}`);
  }
  await assert.rejects(app.run('create table sneaky (id int)'), /permission denied/, 'the application role cannot change the schema');

  for (const statement of ['update audit_events set actor_name = $$someone else$$', 'delete from audit_events']) {
    await assert.rejects(owner.run(statement), /append-only/, `the owner, held by the trigger: ${statement}`);
  }
}

test('on PGlite: the application role only adds to the audit log and cannot disable its trigger; the owner is held by the trigger', async () => {
  const pg = await PGlite.create('memory://');
  try {
    const id = crypto.randomBytes(4).toString('hex');
    const [ownerRole, appRole] = [`perennial_owner_${id}`, `perennial_app_${id}`];
    await pg.exec(`CREATE ROLE ${ownerRole} NOLOGIN; CREATE ROLE ${appRole} NOLOGIN;`);
    await pg.exec(`DO $$ BEGIN EXECUTE format('GRANT CREATE ON DATABASE %I TO ${ownerRole}', current_database()); END $$;`);
    await pg.exec(roleSql(ownerRole, appRole));
    // one session: each role in turn
    await pg.exec(`SET ROLE ${ownerRole}`);
    await pgliteMigrate(pgliteDrizzle(pg), { migrationsFolder });
    const as = (role: string): Session => ({
      run: async (statement) => { await pg.exec(`RESET ROLE; SET ROLE ${role}`); return (await pg.query(statement)).rows; },
      db: pgliteDrizzle(pg) as unknown as Db,
    });
    await assertRoles(as(ownerRole), as(appRole));
  } finally {
    await pg.close();
  }
});

test('on PostgreSQL: the application role only adds to the audit log and cannot disable its trigger; the owner is held by the trigger', { skip: !process.env.TEST_DATABASE_URL && 'TEST_DATABASE_URL is not set' }, async () => {
  const serverUrl = process.env.TEST_DATABASE_URL!;
  const id = crypto.randomBytes(4).toString('hex');
  const [ownerRole, appRole, database] = [`perennial_owner_${id}`, `perennial_app_${id}`, `perennial_roles_${id}`];
  const password = crypto.randomBytes(12).toString('hex');
  const urlFor = (user: string) => {
    const url = new URL(serverUrl);
    Object.assign(url, { username: user, password, pathname: `/${database}` });
    return url.toString();
  };
  const admin = postgres(serverUrl, { max: 1, onnotice: () => {} });
  const connections: { end(): Promise<void> }[] = [];
  try {
    await admin.unsafe(`CREATE ROLE ${ownerRole} LOGIN PASSWORD '${password}'`);
    await admin.unsafe(`CREATE ROLE ${appRole} LOGIN PASSWORD '${password}'`);
    await admin.unsafe(`CREATE DATABASE ${database} OWNER ${ownerRole}`);
    await admin.unsafe(`REVOKE ALL ON DATABASE ${database} FROM PUBLIC; GRANT CONNECT ON DATABASE ${database} TO ${appRole}`);
    const setupUrl = new URL(serverUrl);
    setupUrl.pathname = `/${database}`;
    const setup = postgres(setupUrl.toString(), { max: 1, onnotice: () => {} });
    await setup.unsafe(roleSql(ownerRole, appRole));
    await setup.end();

    const ownerDb = await openDatabase({ url: urlFor(ownerRole) });
    connections.push({ end: () => ownerDb.close() });
    await ownerDb.migrate();
    const appDb = await openDatabase({ url: urlFor(appRole) });
    connections.push({ end: () => appDb.close() });
    const session = (url: string, db: Db): Session => {
      const sql = postgres(url, { max: 1, onnotice: () => {} });
      connections.push(sql);
      return { run: (statement) => sql.unsafe(statement), db };
    };
    await assertRoles(session(urlFor(ownerRole), ownerDb.db), session(urlFor(appRole), appDb.db));
  } finally {
    for (const c of connections) await c.end().catch(() => {});
    await admin.unsafe(`DROP DATABASE IF EXISTS ${database} WITH (FORCE)`).catch(() => {});
    await admin.unsafe(`DROP ROLE IF EXISTS ${appRole}`).catch(() => {});
    await admin.unsafe(`DROP ROLE IF EXISTS ${ownerRole}`).catch(() => {});
    await admin.end();
  }
});
