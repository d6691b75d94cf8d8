//! A `git osa` run in the background, its output collected as it comes, that a story can
//! wait on, signal and finish.

use std::io::{BufRead, BufReader, Read};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// A running `git osa` whose stderr and stdout are collected as they come.
pub struct Running {
    child: Child,
    /// stdout and stderr, line by line as each thread read them: a line of one may come
    /// between two lines the other wrote before it.
    out: Arc<Mutex<String>>,
    /// stdout alone, in the order git-osa wrote it.
    stdout: Arc<Mutex<String>>,
    pub started: Instant,
}

impl Running {
    pub fn spawn(mut cmd: Command) -> Running {
        let mut child = cmd
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let out = Arc::new(Mutex::new(String::new()));
        let stdout = Arc::new(Mutex::new(String::new()));
        for (stream, alone) in [
            (
                Box::new(child.stdout.take().unwrap()) as Box<dyn Read + Send>,
                Some(stdout.clone()),
            ),
            (Box::new(child.stderr.take().unwrap()), None),
        ] {
            let out = out.clone();
            std::thread::spawn(move || {
                for line in BufReader::new(stream).lines().map_while(Result::ok) {
                    if let Some(alone) = &alone {
                        let mut a = alone.lock().unwrap();
                        a.push_str(&line);
                        a.push('\n');
                    }
                    let mut o = out.lock().unwrap();
                    o.push_str(&line);
                    o.push('\n');
                }
            });
        }
        Running {
            child,
            out,
            stdout,
            started: Instant::now(),
        }
    }

    pub fn output(&self) -> String {
        self.out.lock().unwrap().clone()
    }

    /// What git-osa wrote to stdout alone, for a text of several lines that stderr's
    /// lines must not come between (the merged [`Running::output`] may have them there).
    pub fn stdout(&self) -> String {
        self.stdout.lock().unwrap().clone()
    }

    pub fn wait_for(&mut self, text: &str, timeout: Duration) -> Duration {
        let start = Instant::now();
        loop {
            if self.output().contains(text) {
                return self.started.elapsed();
            }
            if let Some(st) = self.child.try_wait().unwrap() {
                std::thread::sleep(Duration::from_millis(300));
                panic!(
                    "git osa exited ({st}) before printing {text:?}:\n{}",
                    self.output()
                );
            }
            assert!(
                start.elapsed() < timeout,
                "no {text:?} after {timeout:?}:\n{}",
                self.output()
            );
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    pub fn signal(&self, sig: i32) {
        unsafe { libc::kill(self.child.id() as i32, sig) };
    }

    pub fn finish(&mut self, timeout: Duration) -> i32 {
        let start = Instant::now();
        loop {
            if let Some(st) = self.child.try_wait().unwrap() {
                std::thread::sleep(Duration::from_millis(200));
                return st.code().unwrap_or(-1);
            }
            assert!(
                start.elapsed() < timeout,
                "git osa still running after {timeout:?}:\n{}",
                self.output()
            );
            std::thread::sleep(Duration::from_millis(100));
        }
    }
}

/// A test that fails mid-way must not leave its git-osa holding the container for the
/// next test: ask it to stop, as a user would, then kill it.
impl Drop for Running {
    fn drop(&mut self) {
        if self.child.try_wait().ok().flatten().is_some() {
            return;
        }
        self.signal(libc::SIGINT);
        let start = Instant::now();
        while self.child.try_wait().ok().flatten().is_none() {
            if start.elapsed() > Duration::from_secs(30) {
                let _ = self.child.kill();
                let _ = self.child.wait();
                return;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
    }
}
