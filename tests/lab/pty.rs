//! A pseudo-terminal, for the stories of a user at a terminal: the prompt and Ctrl-C.

use std::io::{Read, Write};
use std::process::{Child, Command};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// A pseudo-terminal for the prompt and Ctrl-C, as a user at a terminal has.
pub struct Pty {
    master: std::fs::File,
    pub child: Child,
    pub out: Arc<Mutex<String>>,
}

impl Pty {
    pub fn spawn(mut cmd: Command) -> Pty {
        use std::os::fd::FromRawFd;
        use std::os::unix::process::CommandExt;
        let (mut m, mut s) = (0, 0);
        let ws = libc::winsize {
            ws_row: 40,
            ws_col: 160,
            ws_xpixel: 0,
            ws_ypixel: 0,
        };
        assert_eq!(
            unsafe { libc::openpty(&mut m, &mut s, std::ptr::null_mut(), std::ptr::null(), &ws) },
            0
        );
        let slave = unsafe { std::fs::File::from_raw_fd(s) };
        cmd.stdin(slave.try_clone().unwrap())
            .stdout(slave.try_clone().unwrap())
            .stderr(slave);
        unsafe {
            cmd.pre_exec(|| {
                libc::setsid();
                libc::ioctl(0, libc::TIOCSCTTY, 0);
                Ok(())
            });
        }
        cmd.env("TERM", "xterm");
        let child = cmd.spawn().unwrap();
        let master = unsafe { std::fs::File::from_raw_fd(m) };
        let out = Arc::new(Mutex::new(String::new()));
        let mut reader = master.try_clone().unwrap();
        let sink = out.clone();
        std::thread::spawn(move || {
            let mut buf = [0u8; 4096];
            while let Ok(n) = reader.read(&mut buf) {
                if n == 0 {
                    break;
                }
                sink.lock()
                    .unwrap()
                    .push_str(&String::from_utf8_lossy(&buf[..n]));
            }
        });
        Pty { master, child, out }
    }

    pub fn wait_for(&mut self, text: &str, timeout: Duration) {
        let start = Instant::now();
        while !self.out.lock().unwrap().contains(text) {
            assert!(
                self.child.try_wait().unwrap().is_none(),
                "exited before {text:?}:\n{}",
                self.out.lock().unwrap()
            );
            assert!(
                start.elapsed() < timeout,
                "no {text:?}:\n{}",
                self.out.lock().unwrap()
            );
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    pub fn send(&mut self, bytes: &[u8]) {
        self.master.write_all(bytes).unwrap();
    }

    /// Waits for the process to end (failing after `timeout`, with what it printed) and
    /// returns its status and everything it printed.
    pub fn finish(&mut self, timeout: Duration) -> (std::process::ExitStatus, String) {
        let start = Instant::now();
        let status = loop {
            if let Some(st) = self.child.try_wait().unwrap() {
                break st;
            }
            assert!(
                start.elapsed() < timeout,
                "still running after {timeout:?}:\n{}",
                self.out.lock().unwrap()
            );
            std::thread::sleep(Duration::from_millis(50));
        };
        // What the reader thread has not taken yet comes within a moment.
        std::thread::sleep(Duration::from_millis(200));
        let out = self.out.lock().unwrap().clone();
        (status, out)
    }
}

/// A story that fails while its git-osa still runs must not leave that git-osa holding
/// its container for the stories after it: it gets the terminal's Ctrl-C (its own way to
/// end and put production back), and is killed if it has not ended within two minutes.
impl Drop for Pty {
    fn drop(&mut self) {
        if !matches!(self.child.try_wait(), Ok(None)) {
            return;
        }
        let _ = self.master.write_all(b"\x03");
        let start = Instant::now();
        while start.elapsed() < Duration::from_secs(120) {
            if !matches!(self.child.try_wait(), Ok(None)) {
                return;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
