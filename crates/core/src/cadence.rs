//! Running a job on a cron schedule where the engine has no scheduler (compose, Swarm): a
//! service whose shell loop sleeps until the schedule's next time, then runs the job.
//!
//! The common schedules are a fixed period and an offset from the Unix epoch (which began at
//! midnight UTC on a Thursday): every day at a time, every hour at a minute, every week on a
//! day, every N minutes. Those are run at exactly the times a Kubernetes CronJob would (UTC);
//! any other schedule runs every 24 hours from the service's start, and the targets say so.

/// A cron schedule as `(period, offset)` in seconds, UTC, when it is a fixed period:
/// `M H * * *` (daily), `M * * * *` (hourly), `M H * * D` (weekly), `*/N * * * *` (every N
/// minutes, N dividing 60). `None` for any other schedule.
pub fn period(schedule: &str) -> Option<(u64, u64)> {
    let fields: Vec<&str> = schedule.split_whitespace().collect();
    let [minute, hour, day, month, weekday] = fields.as_slice() else {
        return None;
    };
    let number = |f: &str, max: u64| f.parse::<u64>().ok().filter(|n| *n <= max);
    if *day != "*" || *month != "*" {
        return None;
    }
    if let Some(step) = minute.strip_prefix("*/") {
        let n = number(step, 60).filter(|n| *n > 0 && 60 % n == 0)?;
        return (*hour == "*" && *weekday == "*").then_some((n * 60, 0));
    }
    let m = number(minute, 59)?;
    match (*hour, *weekday) {
        ("*", "*") => Some((3600, m * 60)),
        (h, "*") => Some((86_400, number(h, 23)? * 3600 + m * 60)),
        (h, d) => {
            // Cron's weekdays count from Sunday (0 or 7); the epoch's first day was a Thursday.
            let d = number(d, 7)? % 7;
            let days = (d + 7 - 4) % 7;
            Some((604_800, days * 86_400 + number(h, 23)? * 3600 + m * 60))
        }
    }
}

/// A shell loop that runs `job` each time `schedule` fires (UTC) — or every 24 hours from the
/// start when the schedule is not a fixed [`period`] — retrying a failed run every `retry`
/// seconds, saying so with `what`. With `at_start`, the job also runs once when the service
/// starts.
pub fn shell_loop(schedule: &str, job: &str, what: &str, retry: u32, at_start: bool) -> String {
    let run = format!(
        "until {job}; do echo '{what} failed; retrying in {retry} s' >&2; sleep {retry}; done"
    );
    let first = if at_start {
        format!("{run}; ")
    } else {
        String::new()
    };
    match period(schedule) {
        Some((p, o)) => format!(
            "{first}while :; do now=$(date -u +%s); next=$(( now / {p} * {p} + {o} )); [ \"$next\" -gt \"$now\" ] || next=$(( next + {p} )); sleep $(( next - now )); {run}; done"
        ),
        None if at_start => format!("{first}while :; do sleep 86400; {run}; done"),
        None => format!("while :; do {run}; sleep 86400; done"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn common_schedules_are_a_period_and_an_offset() {
        assert_eq!(period("30 2 * * *"), Some((86_400, 2 * 3600 + 30 * 60)));
        assert_eq!(period("5 * * * *"), Some((3600, 300)));
        assert_eq!(period("*/15 * * * *"), Some((900, 0)));
        // Thursday is the epoch's weekday: offset 0 days; Sunday (0 or 7) is 3 days on.
        assert_eq!(period("0 0 * * 4"), Some((604_800, 0)));
        assert_eq!(period("0 1 * * 0"), Some((604_800, 3 * 86_400 + 3600)));
        assert_eq!(period("0 1 * * 7"), period("0 1 * * 0"));
        for other in [
            "0 3 1 * *",
            "*/7 * * * *",
            "0 3 * * 1-5",
            "0 */6 * * *",
            "bad",
        ] {
            assert_eq!(period(other), None, "{other}");
        }
    }

    /// The loop, run by a real shell with the clock set (`date` replaced by a fixed time,
    /// the first `sleep` by printing its argument): it sleeps until the schedule's next time.
    fn first_sleep(schedule: &str, now: u64) -> u64 {
        let l = shell_loop(schedule, "true", "job", 60, false)
            .replace("$(date -u +%s)", &now.to_string())
            .replace("sleep $(( next - now ));", "echo $(( next - now )); exit;");
        let out = std::process::Command::new("sh")
            .args(["-c", &l])
            .output()
            .expect("sh runs");
        String::from_utf8_lossy(&out.stdout)
            .trim()
            .parse()
            .expect("seconds")
    }

    #[test]
    fn the_loop_sleeps_until_the_next_time() {
        // 2026-12-02 (a Wednesday) 01:00 and 03:00 UTC.
        let (one, three) = (1_796_173_200, 1_796_180_400);
        assert_eq!(first_sleep("30 2 * * *", one), 5400);
        assert_eq!(first_sleep("30 2 * * *", three), 84_600);
        assert_eq!(first_sleep("5 * * * *", one), 300);
        assert_eq!(first_sleep("*/15 * * * *", one + 1), 899);
        // Sunday 01:00 is 4 days from Wednesday 01:00.
        assert_eq!(first_sleep("0 1 * * 0", one), 4 * 86_400);
        assert_eq!(first_sleep("0 1 * * 3", one), 7 * 86_400);
        let l = shell_loop("30 2 * * *", "job", "job", 60, false);
        assert!(l.starts_with("while :; do now=$(date -u +%s)"), "{l}");
        assert!(
            l.contains("until job; do echo 'job failed; retrying in 60 s'"),
            "{l}"
        );
        let l = shell_loop("0 3 1 * *", "job", "job", 60, true);
        assert_eq!(
            l,
            "until job; do echo 'job failed; retrying in 60 s' >&2; sleep 60; done; while :; do sleep 86400; until job; do echo 'job failed; retrying in 60 s' >&2; sleep 60; done; done"
        );
    }
}
