// Versioned schema migrations (embedded so the compiled server needs no SQL files beside it).
// Schema follows workload.md §2.1: FS table names, one config_version per environment, NOTIFY triggers.
export interface Migration { version: number; name: string; sql: string }

export const MIGRATIONS: Migration[] = [
  {
    version: 1,
    name: 'init',
    sql: `
CREATE TABLE organizations (id uuid PRIMARY KEY DEFAULT gen_random_uuid(), slug text UNIQUE NOT NULL, name text NOT NULL,
  created_at timestamptz NOT NULL DEFAULT now());
CREATE TABLE projects (id uuid PRIMARY KEY DEFAULT gen_random_uuid(), org_id uuid NOT NULL REFERENCES organizations ON DELETE CASCADE,
  slug text NOT NULL, name text NOT NULL, UNIQUE(org_id, slug));
CREATE TABLE environments (id uuid PRIMARY KEY DEFAULT gen_random_uuid(), project_id uuid NOT NULL REFERENCES projects ON DELETE CASCADE,
  org_id uuid NOT NULL, slug text NOT NULL, name text NOT NULL, config_version bigint NOT NULL DEFAULT 0,
  updated_at timestamptz NOT NULL DEFAULT now(), UNIQUE(project_id, slug));
CREATE TABLE api_keys (id uuid PRIMARY KEY DEFAULT gen_random_uuid(), env_id uuid NOT NULL REFERENCES environments ON DELETE CASCADE,
  org_id uuid NOT NULL, key_hash text NOT NULL UNIQUE, key_prefix varchar(12) NOT NULL, name text NOT NULL,
  type text NOT NULL CHECK (type IN ('server','client')), created_at timestamptz NOT NULL DEFAULT now(),
  last_used_at timestamptz, expires_at timestamptz, revoked_at timestamptz);
CREATE TABLE flags (id uuid PRIMARY KEY DEFAULT gen_random_uuid(), project_id uuid NOT NULL REFERENCES projects ON DELETE CASCADE,
  org_id uuid NOT NULL, key text NOT NULL CHECK (key ~ '^[a-z0-9][a-z0-9_-]{0,127}$'), name text NOT NULL,
  description text NOT NULL DEFAULT '',
  flag_type text NOT NULL DEFAULT 'boolean' CHECK (flag_type IN ('boolean','string','number','json','ab')),
  default_value jsonb NOT NULL DEFAULT 'false', prerequisites text[] NOT NULL DEFAULT '{}',
  mutual_exclusion_group text NOT NULL DEFAULT '', expires_at timestamptz, status text NOT NULL DEFAULT 'active',
  created_at timestamptz NOT NULL DEFAULT now(), updated_at timestamptz NOT NULL DEFAULT now(), UNIQUE(project_id, key));
CREATE TABLE flag_states (id uuid PRIMARY KEY DEFAULT gen_random_uuid(), flag_id uuid NOT NULL REFERENCES flags ON DELETE CASCADE,
  env_id uuid NOT NULL REFERENCES environments ON DELETE CASCADE, org_id uuid NOT NULL, enabled boolean NOT NULL DEFAULT false,
  default_value jsonb, rules jsonb NOT NULL DEFAULT '[]',
  percentage_rollout int NOT NULL DEFAULT 0 CHECK (percentage_rollout BETWEEN 0 AND 10000), variants jsonb NOT NULL DEFAULT '[]',
  scheduled_enable_at timestamptz, scheduled_disable_at timestamptz, updated_at timestamptz NOT NULL DEFAULT now(),
  UNIQUE(flag_id, env_id));
CREATE TABLE segments (id uuid PRIMARY KEY DEFAULT gen_random_uuid(), project_id uuid NOT NULL REFERENCES projects ON DELETE CASCADE,
  org_id uuid NOT NULL, key text NOT NULL CHECK (key ~ '^[a-z0-9][a-z0-9_-]{0,127}$'), name text NOT NULL,
  match_type text NOT NULL DEFAULT 'all' CHECK (match_type IN ('all','any')), rules jsonb NOT NULL DEFAULT '[]',
  updated_at timestamptz NOT NULL DEFAULT now(), UNIQUE(project_id, key));
CREATE TABLE audit_logs (seq bigserial PRIMARY KEY, id uuid UNIQUE NOT NULL DEFAULT gen_random_uuid(), org_id uuid NOT NULL,
  actor text NOT NULL, action text NOT NULL, resource_type text NOT NULL, resource_id uuid, before_state jsonb, after_state jsonb,
  created_at timestamptz NOT NULL, prev_hash text NOT NULL, hash text NOT NULL);
CREATE INDEX audit_logs_org_seq ON audit_logs (org_id, seq);

-- One version counter per environment; every change that affects evaluation bumps it and
-- notifies with ids and the new version only (NOTIFY payloads are capped at 8000 bytes).
CREATE FUNCTION fs_bump_env(p_env uuid, p_table text, p_op text, p_flag uuid) RETURNS void LANGUAGE plpgsql AS $$
DECLARE v bigint;
BEGIN
  UPDATE environments SET config_version = config_version + 1, updated_at = now() WHERE id = p_env RETURNING config_version INTO v;
  IF FOUND THEN
    PERFORM pg_notify('flag_changes', json_build_object('env_id', p_env, 'version', v, 'table', p_table, 'op', p_op, 'flag_id', p_flag)::text);
  END IF;
END $$;

CREATE FUNCTION fs_flag_states_changed() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF TG_OP = 'DELETE' THEN PERFORM fs_bump_env(OLD.env_id, TG_TABLE_NAME, TG_OP, OLD.flag_id); RETURN OLD; END IF;
  PERFORM fs_bump_env(NEW.env_id, TG_TABLE_NAME, TG_OP, NEW.flag_id);
  RETURN NEW;
END $$;
CREATE TRIGGER trg_flag_states_changed AFTER INSERT OR UPDATE OR DELETE ON flag_states FOR EACH ROW EXECUTE FUNCTION fs_flag_states_changed();

-- flags and segments are project-scoped: every environment of the project changes.
CREATE FUNCTION fs_project_rows_changed() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE r record; pid uuid; fid uuid;
BEGIN
  IF TG_OP = 'DELETE' THEN pid := OLD.project_id; ELSE pid := NEW.project_id; END IF;
  IF TG_TABLE_NAME = 'flags' THEN IF TG_OP = 'DELETE' THEN fid := OLD.id; ELSE fid := NEW.id; END IF; END IF;
  FOR r IN SELECT id FROM environments WHERE project_id = pid ORDER BY id LOOP
    PERFORM fs_bump_env(r.id, TG_TABLE_NAME, TG_OP, fid);
  END LOOP;
  IF TG_OP = 'DELETE' THEN RETURN OLD; END IF;
  RETURN NEW;
END $$;
CREATE TRIGGER trg_flags_changed AFTER INSERT OR UPDATE OR DELETE ON flags FOR EACH ROW EXECUTE FUNCTION fs_project_rows_changed();
CREATE TRIGGER trg_segments_changed AFTER INSERT OR UPDATE OR DELETE ON segments FOR EACH ROW EXECUTE FUNCTION fs_project_rows_changed();

CREATE FUNCTION fs_environments_changed() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF TG_OP = 'DELETE' THEN
    PERFORM pg_notify('flag_changes', json_build_object('env_id', OLD.id, 'version', OLD.config_version + 1, 'table', 'environments', 'op', 'DELETE')::text);
  ELSIF TG_OP = 'INSERT' OR (OLD.slug, OLD.name) IS DISTINCT FROM (NEW.slug, NEW.name) THEN
    PERFORM pg_notify('flag_changes', json_build_object('env_id', NEW.id, 'version', NEW.config_version, 'table', 'environments', 'op', TG_OP)::text);
  END IF;
  RETURN NULL;
END $$;
CREATE FUNCTION fs_environments_bump() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  -- A rename changes the ruleset's env.slug, so it is a new version too.
  IF (OLD.slug, OLD.name) IS DISTINCT FROM (NEW.slug, NEW.name) AND NEW.config_version = OLD.config_version THEN
    NEW.config_version := OLD.config_version + 1;
  END IF;
  RETURN NEW;
END $$;
CREATE TRIGGER trg_environments_bump BEFORE UPDATE ON environments FOR EACH ROW EXECUTE FUNCTION fs_environments_bump();
CREATE TRIGGER trg_environments_changed AFTER INSERT OR UPDATE OR DELETE ON environments FOR EACH ROW EXECUTE FUNCTION fs_environments_changed();

CREATE FUNCTION fs_api_keys_changed() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF TG_OP = 'DELETE' THEN PERFORM pg_notify('api_key_changes', json_build_object('key_hash', OLD.key_hash, 'op', TG_OP)::text);
  ELSE PERFORM pg_notify('api_key_changes', json_build_object('key_hash', NEW.key_hash, 'op', TG_OP)::text); END IF;
  RETURN NULL;
END $$;
CREATE TRIGGER trg_api_keys_changed AFTER INSERT OR UPDATE OR DELETE ON api_keys FOR EACH ROW EXECUTE FUNCTION fs_api_keys_changed();
`,
  },
  {
    version: 2,
    name: 'api-key-notify-on-auth-columns',
    // last_used_at is written in batches by every server; it must not wake every listener.
    sql: `
DROP TRIGGER trg_api_keys_changed ON api_keys;
CREATE TRIGGER trg_api_keys_changed AFTER INSERT OR DELETE OR UPDATE OF key_hash, env_id, type, expires_at, revoked_at ON api_keys
  FOR EACH ROW EXECUTE FUNCTION fs_api_keys_changed();
`,
  },
  {
    version: 3,
    name: 'environment-color',
    // FeatureSignals' environment colour (its default grey); not part of the ruleset.
    sql: `ALTER TABLE environments ADD COLUMN color text NOT NULL DEFAULT '#6B7280';`,
  },
];

export const EXPECTED_SCHEMA_VERSION = MIGRATIONS[MIGRATIONS.length - 1].version;
