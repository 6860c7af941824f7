//! A PostgreSQL server of our own for tests and benchmarks: `initdb` and `pg_ctl` in a
//! temporary folder, listening on 127.0.0.1 only (as the `postgres` user when we are root:
//! initdb refuses root). Shared by `tests/suite/feedback.rs` and `benches/feedback.rs`.
#![allow(dead_code, reason = "shared with the benchmarks, which use part of it")]

use std::net::TcpListener;
use std::path::PathBuf;
use std::process::Command;

/// A PostgreSQL server of our own, stopped when dropped.
pub struct Postgres {
    data: PathBuf,
    /// `pg_ctl start`'s server options (port, socket folder, address).
    options: String,
    pub url: String,
    _dir: tempfile::TempDir,
}

impl Postgres {
    /// `None` (skipped, said on stderr) when the binaries are missing outside CI.
    pub fn start() -> Option<Postgres> {
        if Command::new("pg_ctl").arg("--version").output().is_err() {
            assert!(
                std::env::var_os("CI").is_none()
                    && std::env::var_os("CAREERBOT_REQUIRE_POSTGRES").is_none(),
                "PostgreSQL's initdb and pg_ctl must be on PATH in CI (.ci/run installs them)"
            );
            eprintln!("skipped: PostgreSQL is not installed (initdb, pg_ctl)");
            return None;
        }
        let dir = tempfile::tempdir().unwrap();
        let data = dir.path().join("pg");
        let socket = dir.path().to_path_buf();
        // initdb refuses to run as root: the server then runs as the `postgres` user.
        let root_user = unsafe { libc::geteuid() } == 0;
        if root_user {
            let owned = Command::new("chown")
                .args(["-R", "postgres:postgres"])
                .arg(dir.path())
                .status()
                .unwrap();
            assert!(owned.success());
        }
        let run = |args: &[&str]| {
            let mut command = if root_user {
                let mut c = Command::new("runuser");
                c.args(["-u", "postgres", "--"]).args(args);
                c
            } else {
                let mut c = Command::new(args[0]);
                c.args(&args[1..]);
                c
            };
            let out = command.output().unwrap();
            assert!(
                out.status.success(),
                "{args:?}: {}{}",
                String::from_utf8_lossy(&out.stdout),
                String::from_utf8_lossy(&out.stderr)
            );
        };
        let data_arg = data.to_str().unwrap().to_string();
        run(&[
            "initdb",
            "-D",
            &data_arg,
            "-U",
            "careerbot",
            "--auth=trust",
            "-E",
            "UTF8",
            // Whatever LANG says: byte order, as SQLite sorts, and no locale to be missing.
            "--no-locale",
        ]);
        let port = {
            let probe = TcpListener::bind("127.0.0.1:0").unwrap();
            probe.local_addr().unwrap().port()
        };
        let options = format!(
            "-p {port} -k {} -c listen_addresses=127.0.0.1",
            socket.display()
        );
        let log = data.join("log");
        run(&[
            "pg_ctl",
            "-D",
            &data_arg,
            "-l",
            log.to_str().unwrap(),
            "-w",
            "-o",
            &options,
            "start",
        ]);
        Some(Postgres {
            url: format!("postgres://careerbot@127.0.0.1:{port}/postgres"),
            options,
            data,
            _dir: dir,
        })
    }

    /// Stops the server (fast shutdown: connections are cut).
    pub fn stop(&self) {
        self.pg_ctl(&["-m", "fast", "stop"]);
    }

    /// Starts it again after [`Postgres::stop`].
    pub fn restart(&self) {
        let log = self.data.join("log");
        let log = log.to_str().unwrap().to_string();
        self.pg_ctl(&["-l", &log, "-w", "-o", &self.options, "start"]);
    }

    fn pg_ctl(&self, args: &[&str]) -> std::process::Output {
        let mut command = if unsafe { libc::geteuid() } == 0 {
            let mut c = Command::new("runuser");
            c.args(["-u", "postgres", "--", "pg_ctl"]);
            c
        } else {
            Command::new("pg_ctl")
        };
        command
            .arg("-D")
            .arg(&self.data)
            .args(args)
            .output()
            .unwrap()
    }
}

impl Drop for Postgres {
    fn drop(&mut self) {
        self.stop();
    }
}
