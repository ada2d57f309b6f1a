-- Control across replicas (helper "control"): what an operator decides on one replica for a call held or
-- running on another, and what the fleet's operator view shows of each.

-- An approval decided on a replica that does not hold it: the decision is written here with remote = true,
-- and the holder claims it (remote back to false) and releases its waiting call. The holder's own write of
-- the decision that took effect is the last word on status. The rest is what an operator needs to decide.
ALTER TABLE approvals
    ADD COLUMN remote     boolean NOT NULL DEFAULT false,
    ADD COLUMN scope      text,
    ADD COLUMN channel    text,
    ADD COLUMN session    text,
    ADD COLUMN client     text,
    ADD COLUMN kind       text,
    ADD COLUMN language   text,
    ADD COLUMN cwd        text,
    ADD COLUMN tier       text,
    ADD COLUMN expires_at timestamptz,
    ADD COLUMN details    text; -- the rules that held it, with their findings, as JSON
CREATE INDEX approvals_remote ON approvals (replica) WHERE remote;

-- An operator's stop of an execution running on another replica: the owner claims it and stops the run.
-- client and subject (the command or code, clipped) are what the operator view shows.
ALTER TABLE executions
    ADD COLUMN stop_requested_by text,
    ADD COLUMN stop_requested_at timestamptz,
    ADD COLUMN stop_claimed      boolean NOT NULL DEFAULT false,
    ADD COLUMN client            text,
    ADD COLUMN subject           text;
CREATE INDEX executions_stop ON executions (replica) WHERE stop_requested_by IS NOT NULL AND NOT stop_claimed;

-- Which replica turned the switch, and when a replica left the fleet (dead or stopped) and why.
ALTER TABLE kill_switch ADD COLUMN replica text;
ALTER TABLE replicas
    ADD COLUMN ended_at timestamptz,
    ADD COLUMN ended_by text;
