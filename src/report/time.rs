//! Time stamps: RFC 3339 UTC for the JSON report, and nccl-tests' local `%Y-%m-%d %H:%M:%S` for the
//! `-S` text column. UTC is plain calendar arithmetic; local time asks the C library, which knows
//! the machine's zone rules.

use std::time::{SystemTime, UNIX_EPOCH};

/// Seconds and milliseconds since the Unix epoch (negative seconds before it).
fn epoch_parts(t: SystemTime) -> (i64, u32) {
    match t.duration_since(UNIX_EPOCH) {
        Ok(d) => (d.as_secs() as i64, d.subsec_millis()),
        Err(e) => {
            // Before 1970: floor to whole seconds so the millisecond part stays positive.
            let d = e.duration();
            let mut secs = -(d.as_secs() as i64);
            let mut millis = 0;
            if d.subsec_nanos() > 0 {
                secs -= 1;
                millis = 1000 - d.subsec_nanos().div_ceil(1_000_000).min(1000);
            }
            (secs, millis)
        }
    }
}

/// Proleptic Gregorian (year, month 1-12, day 1-31) of a day count since 1970-01-01.
fn civil_from_days(days: i64) -> (i64, u32, u32) {
    // Count in 400-year eras starting on 0000-03-01, so the leap day is the last day of a year.
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let day_of_era = z.rem_euclid(146_097);
    let year_of_era =
        (day_of_era - day_of_era / 1460 + day_of_era / 36_524 - day_of_era / 146_096) / 365;
    let day_of_year = day_of_era - (365 * year_of_era + year_of_era / 4 - year_of_era / 100);
    let month_from_march = (5 * day_of_year + 2) / 153;
    let day = (day_of_year - (153 * month_from_march + 2) / 5 + 1) as u32;
    let month = if month_from_march < 10 {
        month_from_march + 3
    } else {
        month_from_march - 9
    } as u32;
    let year = year_of_era + era * 400 + i64::from(month <= 2);
    (year, month, day)
}

/// `2026-11-22T16:30:39.123Z`.
pub fn rfc3339_utc(t: SystemTime) -> String {
    let (secs, millis) = epoch_parts(t);
    let (year, month, day) = civil_from_days(secs.div_euclid(86_400));
    let second_of_day = secs.rem_euclid(86_400);
    format!(
        "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}.{millis:03}Z",
        second_of_day / 3600,
        second_of_day / 60 % 60,
        second_of_day % 60
    )
}

/// The current time, RFC 3339 UTC.
pub fn now_rfc3339() -> String {
    rfc3339_utc(SystemTime::now())
}

/// nccl-tests' `-S` timestamp: local time as `%Y-%m-%d %H:%M:%S` (19 characters). Falls back to
/// UTC when the C library cannot convert the time.
pub fn local_timestamp(t: SystemTime) -> String {
    let (secs, _) = epoch_parts(t);
    match local_fields(secs) {
        Some((year, month, day, hour, minute, second)) => {
            format!("{year:04}-{month:02}-{day:02} {hour:02}:{minute:02}:{second:02}")
        }
        None => {
            let utc = rfc3339_utc(t);
            format!("{} {}", &utc[0..10], &utc[11..19])
        }
    }
}

/// (year, month, day, hour, minute, second) in the local zone, from the C library.
fn local_fields(secs: i64) -> Option<(i64, u32, u32, u32, u32, u32)> {
    // time_t is i64 here but 32 bits on some targets.
    #[allow(clippy::useless_conversion)]
    let time: libc::time_t = secs.try_into().ok()?;
    // SAFETY: `tm` is plain data that localtime_r fully writes on success; both pointers are to
    // live locals, and the reentrant variant touches no shared buffer.
    let tm = unsafe {
        let mut tm: libc::tm = std::mem::zeroed();
        if libc::localtime_r(&time, &mut tm).is_null() {
            return None;
        }
        tm
    };
    Some((
        i64::from(tm.tm_year) + 1900,
        u32::try_from(tm.tm_mon + 1).ok()?,
        u32::try_from(tm.tm_mday).ok()?,
        u32::try_from(tm.tm_hour).ok()?,
        u32::try_from(tm.tm_min).ok()?,
        u32::try_from(tm.tm_sec).ok()?,
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    fn at(secs: i64, millis: u64) -> SystemTime {
        if secs >= 0 {
            UNIX_EPOCH + Duration::from_secs(secs as u64) + Duration::from_millis(millis)
        } else {
            UNIX_EPOCH - Duration::from_secs((-secs) as u64) + Duration::from_millis(millis)
        }
    }

    #[test]
    fn rfc3339_of_known_instants() {
        assert_eq!(rfc3339_utc(at(0, 0)), "1970-01-01T00:00:00.000Z");
        assert_eq!(rfc3339_utc(at(951_782_400, 0)), "2000-02-29T00:00:00.000Z");
        assert_eq!(
            rfc3339_utc(at(951_868_799, 999)),
            "2000-02-29T23:59:59.999Z"
        );
        assert_eq!(
            rfc3339_utc(at(1_700_000_000, 5)),
            "2023-11-14T22:13:20.005Z"
        );
        assert_eq!(
            rfc3339_utc(at(4_107_542_400, 0)),
            "2100-03-01T00:00:00.000Z"
        );
        assert_eq!(rfc3339_utc(at(-1, 0)), "1969-12-31T23:59:59.000Z");
        assert_eq!(rfc3339_utc(at(-1, 250)), "1969-12-31T23:59:59.250Z");
        assert_eq!(
            rfc3339_utc(at(-86_400 * 365, 0)),
            "1969-01-01T00:00:00.000Z"
        );
    }

    #[test]
    fn every_day_of_four_centuries_round_trips() {
        // Days since the epoch → civil date → back, against a day-by-day walk of the calendar.
        let (mut y, mut m, mut d) = (1900i64, 1u32, 1u32);
        let days_in = |y: i64, m: u32| match m {
            2 if (y % 4 == 0 && y % 100 != 0) || y % 400 == 0 => 29,
            2 => 28,
            4 | 6 | 9 | 11 => 30,
            _ => 31,
        };
        for days in -25_567..(-25_567 + 146_097) {
            assert_eq!(civil_from_days(days), (y, m, d), "day {days}");
            d += 1;
            if d > days_in(y, m) {
                d = 1;
                m += 1;
                if m > 12 {
                    m = 1;
                    y += 1;
                }
            }
        }
    }

    #[test]
    fn local_timestamp_has_the_nccl_tests_shape() {
        let s = local_timestamp(at(1_700_000_000, 0));
        assert_eq!(s.len(), 19, "{s}");
        let bytes = s.as_bytes();
        for (i, b) in bytes.iter().enumerate() {
            match i {
                4 | 7 => assert_eq!(*b, b'-', "{s}"),
                10 => assert_eq!(*b, b' ', "{s}"),
                13 | 16 => assert_eq!(*b, b':', "{s}"),
                _ => assert!(b.is_ascii_digit(), "{s}"),
            }
        }
        // Whatever the zone, the local time is within a day of UTC.
        assert!(s.starts_with("2023-11-1"), "{s}");
    }
}
