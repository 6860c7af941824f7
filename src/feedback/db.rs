//! The feedback store: one schema and one query layer (sqlx's `Any` driver) over an embedded
//! SQLite file by default, or PostgreSQL when `DATABASE_URL` / `database.url` names one (HTTP
//! replicas and sharded processes sharing a store). Only portable SQL: `$n` parameters,
//! integer seconds for time, ids made by us.

use std::path::Path;
use std::time::Duration;

use sqlx::any::{AnyConnectOptions, AnyPoolOptions};
use sqlx::{AnyPool, Row};

use super::{Gaps, Record, Suggestion, TopChange, Unanswered, Vote, VotedDown};

/// Versioned migrations, applied in order once each; never edited after release (add one).
const MIGRATIONS: &[&str] = &[
    // 1: recorded questions, and the store's own settings (the member-hash key).
    "CREATE TABLE questions (
        id BIGINT PRIMARY KEY,
        at BIGINT NOT NULL,
        command TEXT NOT NULL,
        question TEXT NOT NULL,
        outcome TEXT NOT NULL,
        passages TEXT NOT NULL,
        top_passage TEXT,
        notes TEXT NOT NULL,
        content_version TEXT NOT NULL,
        guild_id BIGINT,
        channel_id BIGINT,
        member TEXT
    );
    -- Each index covers the report query that reads it: the report reads no table rows.
    CREATE INDEX questions_at ON questions (at, question, content_version, top_passage);
    CREATE INDEX questions_outcome_at ON questions (outcome, at, command, question);
    CREATE INDEX questions_member_at ON questions (member, at, outcome, command, question);
    CREATE TABLE settings (name TEXT PRIMARY KEY, value TEXT NOT NULL);",
    // 2: votes on answers, one per member and answer (the question it answered).
    "CREATE TABLE votes (
        question_id BIGINT NOT NULL,
        member TEXT NOT NULL,
        up BIGINT NOT NULL,
        comment TEXT,
        at BIGINT NOT NULL,
        guild_id BIGINT,
        PRIMARY KEY (question_id, member)
    );
    CREATE INDEX votes_at ON votes (at, guild_id);",
    // 3: what replicas sharing the store share (see `replicas.rs`).
    "CREATE TABLE cooldowns (member TEXT PRIMARY KEY, until_ms BIGINT NOT NULL);
    CREATE TABLE interactions_seen (id BIGINT PRIMARY KEY, at BIGINT NOT NULL);
    CREATE INDEX interactions_seen_at ON interactions_seen (at);
    CREATE TABLE reload_requests (
        id BIGINT PRIMARY KEY,
        at_ms BIGINT NOT NULL,
        origin BIGINT NOT NULL,
        requested_by TEXT NOT NULL
    );
    CREATE INDEX reload_requests_at ON reload_requests (at_ms);",
    // 4: indexes that cover the report's queries with the server they are scoped to, in
    // the order the queries group or walk them (no sort, no table read). None on time
    // alone: the daily purge can scan, every recorded question would pay for one.
    "DROP INDEX questions_at;
    DROP INDEX questions_outcome_at;
    DROP INDEX questions_member_at;
    CREATE INDEX questions_unanswered ON questions (outcome, at, command, question, guild_id);
    CREATE INDEX questions_by_member
        ON questions (member, command, at, outcome DESC, question, guild_id);
    CREATE INDEX questions_by_question
        ON questions (command, question, content_version, top_passage, at, guild_id);",
];

/// Outcomes the gap report counts as "no answer".
pub const UNANSWERED: [&str; 2] = ["no_data", "not_found"];

#[derive(Debug, thiserror::Error)]
pub enum DbError {
    #[error("database {target}: {source}")]
    Open { target: String, source: sqlx::Error },
    #[error("database: {0}")]
    Query(#[from] sqlx::Error),
}

/// Which questions a report covers.
#[derive(Debug, Clone, Copy)]
struct Scope {
    since: i64,
    guild: Option<i64>,
}

impl Scope {
    /// ` AND {table}guild_id = $n` when the report is for one server.
    fn guild_clause(&self, table: &str, n: usize) -> String {
        match self.guild {
            Some(_) => format!(" AND {table}guild_id = ${n}"),
            None => String::new(),
        }
    }

    fn bind_guild<'q>(
        &self,
        query: sqlx::query::Query<'q, sqlx::Any, sqlx::any::AnyArguments<'q>>,
    ) -> sqlx::query::Query<'q, sqlx::Any, sqlx::any::AnyArguments<'q>> {
        match self.guild {
            Some(g) => query.bind(g),
            None => query,
        }
    }
}

/// `($1, $2), ($3, $4)` for `rows` rows of `columns` parameters each.
fn placeholders(rows: usize, columns: usize) -> String {
    (0..rows)
        .map(|r| {
            let row: Vec<String> = (1..=columns)
                .map(|c| format!("${}", r * columns + c))
                .collect();
            format!("({})", row.join(", "))
        })
        .collect::<Vec<_>>()
        .join(", ")
}

/// SQLite's "database is locked" (`SQLITE_BUSY`).
fn is_busy(e: &sqlx::Error) -> bool {
    // Extended codes (SQLITE_BUSY_SNAPSHOT, …) keep the primary code in the low byte.
    matches!(e, sqlx::Error::Database(d)
        if d.code().and_then(|c| c.parse::<i64>().ok()).is_some_and(|c| c & 0xff == 5))
}

/// Which database, for logs (never the URL: it may hold a password).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Sqlite,
    Postgres,
}

#[derive(Clone)]
pub struct Db {
    pool: AnyPool,
    pub kind: Kind,
}

impl Db {
    /// Opens (creating if need be) the SQLite file at `path`, in WAL mode.
    pub async fn sqlite(path: &Path) -> Result<Db, DbError> {
        let url = format!("sqlite://{}?mode=rwc", path.display());
        let db = Db::connect(&url, Kind::Sqlite, &path.display().to_string()).await?;
        // Readers (the gap report) never wait for the writer, nor it for them. Switching
        // needs the file to itself and SQLite does not wait for that: another process
        // opening it at the same moment gets "busy", so try again briefly.
        let mut attempts = 0;
        loop {
            match sqlx::query("PRAGMA journal_mode=WAL")
                .execute(&db.pool)
                .await
            {
                Ok(_) => break,
                Err(e) if attempts < 50 && is_busy(&e) => {
                    attempts += 1;
                    tokio::time::sleep(Duration::from_millis(100)).await;
                }
                Err(e) => return Err(e.into()),
            }
        }
        Ok(db)
    }

    /// Connects to the PostgreSQL server `url` names.
    pub async fn postgres(url: &str) -> Result<Db, DbError> {
        Db::connect(url, Kind::Postgres, "PostgreSQL").await
    }

    async fn connect(url: &str, kind: Kind, target: &str) -> Result<Db, DbError> {
        sqlx::any::install_default_drivers();
        let open = |source| DbError::Open {
            target: target.to_string(),
            source,
        };
        let options: AnyConnectOptions = url.parse().map_err(open)?;
        let pool = AnyPoolOptions::new()
            .max_connections(if kind == Kind::Sqlite { 3 } else { 4 })
            .acquire_timeout(Duration::from_secs(5))
            .after_connect(move |conn, _| {
                Box::pin(async move {
                    if kind == Kind::Postgres {
                        // The report's plans cost enough to trigger JIT compilation, which
                        // takes longer (~0.2 s) than running them.
                        sqlx::query("SET jit = off").execute(&mut *conn).await?;
                    }
                    if kind == Kind::Sqlite {
                        // With WAL, NORMAL syncs at checkpoints instead of every commit: a
                        // power cut may lose the last few records, never corrupt the file.
                        sqlx::query("PRAGMA synchronous = NORMAL")
                            .execute(conn)
                            .await?;
                    }
                    Ok(())
                })
            })
            .connect_with(options)
            .await
            .map_err(open)?;
        let db = Db { pool, kind };
        db.migrate().await.map_err(|e| match e {
            DbError::Query(source) => open(source),
            e => e,
        })?;
        Ok(db)
    }

    /// Applies the migrations this store has not seen, in one transaction that holds the
    /// store's write lock (SQLite: `BEGIN IMMEDIATE`; PostgreSQL: an advisory lock), so that
    /// processes starting together on one store never apply one twice.
    async fn migrate(&self) -> Result<(), DbError> {
        let mut conn = self.pool.acquire().await?;
        let begin: &[&str] = match self.kind {
            Kind::Sqlite => &["BEGIN IMMEDIATE"],
            Kind::Postgres => &["BEGIN", "SELECT pg_advisory_xact_lock(7405123001)"],
        };
        for statement in begin {
            sqlx::query(statement).execute(&mut *conn).await?;
        }
        let applied = async {
            sqlx::query("CREATE TABLE IF NOT EXISTS schema_version (version BIGINT NOT NULL)")
                .execute(&mut *conn)
                .await?;
            let done: i64 = sqlx::query("SELECT COALESCE(MAX(version), 0) FROM schema_version")
                .fetch_one(&mut *conn)
                .await?
                .try_get(0)?;
            for (i, migration) in MIGRATIONS.iter().enumerate().skip(done as usize) {
                for statement in migration.split(';').filter(|s| !s.trim().is_empty()) {
                    sqlx::query(statement).execute(&mut *conn).await?;
                }
                sqlx::query("INSERT INTO schema_version (version) VALUES ($1)")
                    .bind(i as i64 + 1)
                    .execute(&mut *conn)
                    .await?;
            }
            Ok::<_, sqlx::Error>(())
        }
        .await;
        let end = if applied.is_ok() {
            "COMMIT"
        } else {
            "ROLLBACK"
        };
        sqlx::query(end).execute(&mut *conn).await?;
        Ok(applied?)
    }

    /// The connection pool, for queries this module does not offer (tests).
    #[doc(hidden)]
    pub fn pool(&self) -> &AnyPool {
        &self.pool
    }

    /// A stored setting, or `value` stored now if there is none (first writer wins).
    pub async fn setting_or(&self, name: &str, value: &str) -> Result<String, DbError> {
        let insert = match self.kind {
            Kind::Sqlite => "INSERT OR IGNORE INTO settings (name, value) VALUES ($1, $2)",
            Kind::Postgres => {
                "INSERT INTO settings (name, value) VALUES ($1, $2) ON CONFLICT (name) DO NOTHING"
            }
        };
        sqlx::query(insert)
            .bind(name)
            .bind(value)
            .execute(&self.pool)
            .await?;
        let row = sqlx::query("SELECT value FROM settings WHERE name = $1")
            .bind(name)
            .fetch_one(&self.pool)
            .await?;
        Ok(row.try_get(0)?)
    }

    /// Writes `records` in one transaction: all or none. A record already stored is skipped,
    /// so a batch retried after a commit whose answer was lost is not written twice.
    pub async fn insert(&self, records: &[Record]) -> Result<(), DbError> {
        self.write(records, &[]).await
    }

    /// Writes questions, then votes (at most one per answer and member: a member's vote
    /// replaces theirs, keeping their comment unless the vote brings one), in one
    /// transaction.
    pub async fn write(&self, records: &[Record], votes: &[Vote]) -> Result<(), DbError> {
        let insert = match self.kind {
            Kind::Sqlite => "INSERT OR IGNORE INTO questions",
            Kind::Postgres => "INSERT INTO questions",
        };
        let on_conflict = match self.kind {
            Kind::Sqlite => "",
            Kind::Postgres => " ON CONFLICT (id) DO NOTHING",
        };
        /// Rows per statement: one round of parsing and binding for many rows (12 parameters
        /// each, well within both databases' limits).
        const ROWS: usize = 100;
        let mut tx = self.pool.begin().await?;
        for chunk in records.chunks(ROWS) {
            let sql = format!(
                "{insert} (id, at, command, question, outcome, passages, top_passage, notes,
                 content_version, guild_id, channel_id, member) VALUES {}{on_conflict}",
                placeholders(chunk.len(), 12)
            );
            let mut query = sqlx::query(&sql);
            for r in chunk {
                query = query
                    .bind(r.id)
                    .bind(r.at)
                    .bind(r.command.clone())
                    .bind(r.question.clone())
                    .bind(r.outcome.clone())
                    .bind(serde_json::to_string(&r.passages).unwrap_or_default())
                    .bind(r.passages.first().map(|p| p.0.clone()))
                    .bind(serde_json::to_string(&r.notes).unwrap_or_default())
                    .bind(r.content_version.clone())
                    .bind(r.guild_id)
                    .bind(r.channel_id)
                    .bind(r.member.clone());
            }
            query.execute(&mut *tx).await?;
        }
        for chunk in votes.chunks(ROWS) {
            // The same statement on both: SQLite has taken PostgreSQL's upsert since 3.24.
            let sql = format!(
                "INSERT INTO votes (question_id, member, up, comment, at, guild_id) VALUES {}
                 ON CONFLICT (question_id, member) DO UPDATE SET up = excluded.up,
                 at = excluded.at, comment = COALESCE(excluded.comment, votes.comment)",
                placeholders(chunk.len(), 6)
            );
            let mut query = sqlx::query(&sql);
            for v in chunk {
                query = query
                    .bind(v.question)
                    .bind(v.member.clone())
                    .bind(i64::from(v.up))
                    .bind(v.comment.clone())
                    .bind(v.at)
                    .bind(v.guild_id);
            }
            query.execute(&mut *tx).await?;
        }
        tx.commit().await?;
        Ok(())
    }

    /// Deletes questions and votes recorded before `before` (unix seconds); returns how
    /// many questions.
    pub async fn purge(&self, before: i64) -> Result<u64, DbError> {
        sqlx::query("DELETE FROM votes WHERE at < $1")
            .bind(before)
            .execute(&self.pool)
            .await?;
        let done = sqlx::query("DELETE FROM questions WHERE at < $1")
            .bind(before)
            .execute(&self.pool)
            .await?;
        Ok(done.rows_affected())
    }

    /// Refreshes the planner's statistics (and, on PostgreSQL, the visibility map that lets
    /// the report read its indexes alone): part of the daily purge.
    pub async fn maintain(&self) -> Result<(), DbError> {
        let statement = match self.kind {
            Kind::Sqlite => "ANALYZE",
            Kind::Postgres => "VACUUM ANALYZE questions",
        };
        sqlx::query(statement).execute(&self.pool).await?;
        Ok(())
    }

    /// Starts `member`'s public-reply cooldown, to end at `until_ms`, unless one runs past
    /// `now_ms`: `None` when it started (the reply may be public), else when the running one
    /// ends. One statement, so two replicas never both start one.
    pub async fn claim_cooldown(
        &self,
        member: &str,
        now_ms: i64,
        until_ms: i64,
    ) -> Result<Option<i64>, DbError> {
        let claimed = sqlx::query(
            "INSERT INTO cooldowns (member, until_ms) VALUES ($1, $2)
             ON CONFLICT (member) DO UPDATE SET until_ms = excluded.until_ms
             WHERE cooldowns.until_ms <= $3
             RETURNING until_ms",
        )
        .bind(member)
        .bind(until_ms)
        .bind(now_ms)
        .fetch_optional(&self.pool)
        .await?;
        if claimed.is_some() {
            return Ok(None);
        }
        let running = sqlx::query("SELECT until_ms FROM cooldowns WHERE member = $1")
            .bind(member)
            .fetch_optional(&self.pool)
            .await?;
        Ok(match running {
            Some(row) => Some(row.try_get(0)?),
            None => None,
        })
    }

    /// Records an interaction id; `false` when it was seen at or after `since` (a replay).
    pub async fn first_sighting(&self, id: i64, now: i64, since: i64) -> Result<bool, DbError> {
        let first = sqlx::query(
            "INSERT INTO interactions_seen (id, at) VALUES ($1, $2)
             ON CONFLICT (id) DO UPDATE SET at = excluded.at
             WHERE interactions_seen.at < $3
             RETURNING at",
        )
        .bind(id)
        .bind(now)
        .bind(since)
        .fetch_optional(&self.pool)
        .await?;
        Ok(first.is_some())
    }

    /// Asks every replica to reload: `origin` is the asking process.
    pub async fn request_reload(
        &self,
        at_ms: i64,
        origin: i64,
        requested_by: &str,
    ) -> Result<(), DbError> {
        sqlx::query(
            "INSERT INTO reload_requests (id, at_ms, origin, requested_by) VALUES ($1, $2, $3, $4)",
        )
        .bind(super::new_id())
        .bind(at_ms)
        .bind(origin)
        .bind(requested_by)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// Reload requests made at or after `since_ms`: `(id, at_ms, origin, requested_by)`,
    /// oldest first.
    pub async fn reload_requests(
        &self,
        since_ms: i64,
    ) -> Result<Vec<(i64, i64, i64, String)>, DbError> {
        let rows = sqlx::query(
            "SELECT id, at_ms, origin, requested_by FROM reload_requests
             WHERE at_ms >= $1 ORDER BY at_ms, id",
        )
        .bind(since_ms)
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|r| Ok((r.try_get(0)?, r.try_get(1)?, r.try_get(2)?, r.try_get(3)?)))
            .collect::<Result<_, sqlx::Error>>()
            .map_err(Into::into)
    }

    /// Deletes shared state nobody needs any more: ended cooldowns, interactions seen
    /// before `seen_before` (unix seconds), reload requests before `requests_before_ms`.
    pub async fn expire_shared(
        &self,
        now_ms: i64,
        seen_before: i64,
        requests_before_ms: i64,
    ) -> Result<(), DbError> {
        for (sql, bound) in [
            ("DELETE FROM cooldowns WHERE until_ms < $1", now_ms),
            ("DELETE FROM interactions_seen WHERE at < $1", seen_before),
            (
                "DELETE FROM reload_requests WHERE at_ms < $1",
                requests_before_ms,
            ),
        ] {
            sqlx::query(sql).bind(bound).execute(&self.pool).await?;
        }
        Ok(())
    }

    /// How many questions are recorded.
    pub async fn count(&self) -> Result<i64, DbError> {
        Ok(sqlx::query("SELECT COUNT(*) FROM questions")
            .fetch_one(&self.pool)
            .await?
            .try_get(0)?)
    }

    /// The content-gap report over questions recorded since `since` (unix seconds), at most
    /// `limit` rows per list; only those asked in `guild` when given (a server's moderators
    /// see their own server's questions, never another's).
    pub async fn gaps(
        &self,
        since: i64,
        limit: usize,
        guild: Option<i64>,
    ) -> Result<Gaps, DbError> {
        let scope = Scope { since, guild };
        // Independent reads: side by side on the pool's connections (WAL lets SQLite's
        // readers run together too).
        let (unanswered, voted_down, changed, suggestions) = tokio::join!(
            self.unanswered(scope, limit),
            self.voted_down(scope, limit),
            self.top_changes(scope, limit),
            self.suggestions(scope, limit)
        );
        Ok(Gaps {
            since,
            unanswered: unanswered?,
            voted_down: voted_down?,
            changed: changed?,
            suggestions: suggestions?,
        })
    }

    /// Runs a query over unanswered questions: `$1` since, `$2`/`$3` the outcomes that count
    /// as unanswered, `$4` the limit, `$5` the server when the report has one.
    async fn unanswered_rows(
        &self,
        sql: &str,
        scope: Scope,
        limit: usize,
    ) -> Result<Vec<sqlx::any::AnyRow>, sqlx::Error> {
        let query = sqlx::query(sql)
            .bind(scope.since)
            .bind(UNANSWERED[0])
            .bind(UNANSWERED[1])
            .bind(limit as i64);
        scope.bind_guild(query).fetch_all(&self.pool).await
    }

    async fn unanswered(&self, scope: Scope, limit: usize) -> Result<Vec<Unanswered>, DbError> {
        let sql = format!(
            "SELECT command, question, COUNT(*), MIN(at), MAX(at) FROM questions
             WHERE at >= $1 AND outcome IN ($2, $3){}
             GROUP BY command, question
             ORDER BY COUNT(*) DESC, MAX(at) DESC, question
             LIMIT $4",
            scope.guild_clause("", 5)
        );
        let rows = self.unanswered_rows(&sql, scope, limit).await?;
        rows.iter()
            .map(|r| {
                Ok(Unanswered {
                    command: r.try_get(0)?,
                    question: r.try_get(1)?,
                    count: r.try_get(2)?,
                    first: r.try_get(3)?,
                    last: r.try_get(4)?,
                })
            })
            .collect::<Result<_, sqlx::Error>>()
            .map_err(Into::into)
    }

    /// Answers with 👎 votes cast since the report's start, grouped by their top passage,
    /// most voted down first (then least voted up).
    async fn voted_down(&self, scope: Scope, limit: usize) -> Result<Vec<VotedDown>, DbError> {
        let sql = format!(
            "SELECT q.top_passage, q.command, q.question, v.up, v.comment
             FROM votes v JOIN questions q ON q.id = v.question_id
             WHERE v.at >= $1{}
             ORDER BY v.at",
            scope.guild_clause("v.", 2)
        );
        let rows = scope
            .bind_guild(sqlx::query(&sql).bind(scope.since))
            .fetch_all(&self.pool)
            .await?;
        // passage → (down, up, questions with their 👎 count, comments)
        type Tally = (i64, i64, Vec<(String, i64)>, Vec<String>);
        let mut by_passage: Vec<(Option<String>, Tally)> = Vec::new();
        for r in &rows {
            let passage: Option<String> = r.try_get(0)?;
            let (command, asked): (String, String) = (r.try_get(1)?, r.try_get(2)?);
            let question = if command == crate::suggest::RECORDED_AS {
                format!("forum post: {asked}")
            } else {
                format!("/{command} {asked}").trim_end().to_string()
            };
            let up: i64 = r.try_get(3)?;
            let comment: Option<String> = r.try_get(4)?;
            let at = match by_passage.iter().position(|(p, _)| *p == passage) {
                Some(i) => i,
                None => {
                    by_passage.push((passage, (0, 0, Vec::new(), Vec::new())));
                    by_passage.len() - 1
                }
            };
            let (down, ups, questions, comments) = &mut by_passage[at].1;
            if up != 0 {
                *ups += 1;
                continue;
            }
            *down += 1;
            match questions.iter_mut().find(|(q, _)| *q == question) {
                Some((_, n)) => *n += 1,
                None => questions.push((question, 1)),
            }
            if let Some(c) = comment.filter(|c| !c.is_empty() && !comments.contains(c)) {
                comments.push(c);
            }
        }
        let mut voted: Vec<VotedDown> = by_passage
            .into_iter()
            .filter(|(_, (down, ..))| *down > 0)
            .map(|(passage, (down, up, mut questions, comments))| {
                questions.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
                VotedDown {
                    passage,
                    down,
                    up,
                    questions: questions.into_iter().map(|(q, _)| q).collect(),
                    comments,
                }
            })
            .collect();
        voted.sort_by(|a, b| {
            b.down
                .cmp(&a.down)
                .then(a.up.cmp(&b.up))
                .then(a.passage.cmp(&b.passage))
        });
        voted.truncate(limit);
        Ok(voted)
    }

    /// Questions whose top passage changed when the content did (a new content version),
    /// most asked first.
    async fn top_changes(&self, scope: Scope, limit: usize) -> Result<Vec<TopChange>, DbError> {
        let sql = format!(
            "SELECT command, question, content_version, top_passage, COUNT(*), MAX(at)
             FROM questions
             WHERE at >= $1 AND top_passage IS NOT NULL{}
             GROUP BY command, question, content_version, top_passage
             ORDER BY command, question, MAX(at)",
            scope.guild_clause("", 2)
        );
        let rows = scope
            .bind_guild(sqlx::query(&sql).bind(scope.since))
            .fetch_all(&self.pool)
            .await?;
        let mut changes: Vec<TopChange> = Vec::new();
        // (command, question) of the last group, and the version its last passage came from.
        let mut last: Option<(String, String, String)> = None;
        for r in &rows {
            let (command, question): (String, String) = (r.try_get(0)?, r.try_get(1)?);
            let version: String = r.try_get(2)?;
            let passage: String = r.try_get(3)?;
            let count: i64 = r.try_get(4)?;
            let same = last
                .as_ref()
                .is_some_and(|(c, q, _)| *c == command && *q == question);
            if !same {
                changes.push(TopChange {
                    question: question.clone(),
                    asked: count,
                    passages: vec![passage],
                });
                last = Some((command, question, version));
                continue;
            }
            let change = changes.last_mut().expect("pushed with the group");
            change.asked += count;
            let (_, _, last_version) = last.as_mut().expect("set with the group");
            // Only a new content version counts: the same version answering two ways is
            // ranking noise (the model warming up), not a change to the guide.
            if *last_version != version && change.passages.last() != Some(&passage) {
                change.passages.push(passage);
                *last_version = version;
            }
        }
        changes.retain(|c| c.passages.len() > 1);
        changes.sort_by(|a, b| b.asked.cmp(&a.asked).then(a.question.cmp(&b.question)));
        changes.truncate(limit);
        Ok(changes)
    }

    /// A member's unanswered question whose next question of the same command (help and
    /// errors aside), within five minutes, was answered: the pair, and how often it
    /// happened. One walk of each member's questions in time order (the member index, in
    /// this order: no sort), never a join of every pair; the next question's time and
    /// outcome travel packed in one integer (`at * 2 + answered`), since each `LEAD` costs
    /// a pass. Time is in seconds: within one second, failures (`not_found`, `no_data`) are
    /// taken to come before answers (`found`), which they sort after.
    async fn suggestions(&self, scope: Scope, limit: usize) -> Result<Vec<Suggestion>, DbError> {
        let sql = format!(
            "SELECT question, next_question, COUNT(*) FROM (
                SELECT question, outcome, at,
                    LEAD(question) OVER w AS next_question,
                    LEAD(at * 2 + CASE WHEN outcome = 'found' THEN 1 ELSE 0 END) OVER w AS next
                FROM questions
                WHERE member IS NOT NULL AND at >= $1 AND outcome IN ('found', $2, $3){}
                WINDOW w AS (PARTITION BY member, command ORDER BY at, outcome DESC, question)
             ) pairs
             WHERE outcome IN ($2, $3) AND next % 2 = 1 AND next / 2 <= at + 300
             GROUP BY question, next_question
             ORDER BY COUNT(*) DESC, question
             LIMIT $4",
            scope.guild_clause("", 5)
        );
        let rows = self.unanswered_rows(&sql, scope, limit).await?;
        rows.iter()
            .map(|r| Ok(Suggestion::new(r.try_get(0)?, r.try_get(1)?, r.try_get(2)?)))
            .collect::<Result<_, sqlx::Error>>()
            .map_err(Into::into)
    }
}
