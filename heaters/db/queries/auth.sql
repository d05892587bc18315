-- Sign-in throttling (web/throttle.py; table login_attempts, migration 0010). Every time is
-- the database's clock, so web processes on several machines agree on windows.

-- name: take_login_attempts
-- Count one sign-in attempt against each of :keys in one statement, before the password is
-- checked. A key's window starts at its first attempt and lasts :window_seconds; the first
-- attempt after it starts a new window. Rows are written in key order (no deadlock between
-- two attempts on the same keys). Returns, per key, the attempts in its window with this one,
-- when the window started, and the whole seconds until it ends (the Retry-After).
INSERT INTO login_attempts AS a (key, window_start, failures)
SELECT k, now(), 1 FROM unnest(CAST(:keys AS text[])) AS k ORDER BY k
ON CONFLICT (key) DO UPDATE SET
    window_start = CASE WHEN a.window_start <= now() - make_interval(secs => :window_seconds)
                        THEN now() ELSE a.window_start END,
    failures = CASE WHEN a.window_start <= now() - make_interval(secs => :window_seconds)
                    THEN 1 ELSE a.failures + 1 END
RETURNING key, failures, window_start,
    CAST(GREATEST(1, ceil(extract(epoch FROM
        window_start + make_interval(secs => :window_seconds) - now()))) AS integer)
        AS retry_after;

-- name: give_back_login_attempts!
-- A sign-in succeeded: its own attempt no longer counts against its keys, in the window it
-- was counted in (earlier failures still count: a success does not reset a key).
UPDATE login_attempts AS a SET failures = a.failures - 1
FROM unnest(CAST(:keys AS text[]), CAST(:window_starts AS timestamptz[]))
    AS t(key, window_start)
WHERE a.key = t.key AND a.window_start = t.window_start AND a.failures > 0;

-- name: prune_login_attempts!
-- Forget the windows that have ended (rows another attempt holds are left for the next one).
DELETE FROM login_attempts WHERE key IN (
    SELECT key FROM login_attempts
    WHERE window_start <= now() - make_interval(secs => :window_seconds)
    FOR UPDATE SKIP LOCKED);

-- name: session_user^
-- The signed-in reviewer of a session cookie (web/auth.py), which names a user id and the
-- session epoch it was issued under (users.session_epoch, migration 0016): the user's name
-- while the row exists with that epoch, else no row (signed out, new password, revoked or
-- removed).
SELECT name FROM users WHERE id = :user_id AND session_epoch = :epoch;

-- name: end_sessions<!
-- End every session of the user :name (the epoch moves on); returns the new epoch, no row
-- when there is no such user.
UPDATE users SET session_epoch = session_epoch + 1 WHERE name = :name
RETURNING session_epoch;

-- name: remove_user<!
-- Delete the user :name (its sessions end with it); returns its id, no row when none.
DELETE FROM users WHERE name = :name RETURNING id;
