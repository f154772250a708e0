//! Time as CF conventions write it: instants counted in a unit since an epoch, in one of the
//! climate model calendars. Instants are held as whole seconds since 1970-01-01 00:00:00 *in
//! their own calendar*, so that ordering and differences are integer arithmetic and a
//! 360-day-calendar instant never pretends to be a Gregorian one.
//!
//! chrono covers the Gregorian calendar only; noleap and 360_day models need their own day
//! counts, so the few lines of civil-date arithmetic here serve all calendars alike.

use crate::error::Error;

/// The CF calendars, as cftime (and so xarray) counts their days.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum Calendar {
    /// `standard` or `gregorian` (the default): the mixed calendar CF defines, Julian up to
    /// 1582-10-04 and Gregorian from the next day, 1582-10-15. Every later date is the same
    /// as in the proleptic Gregorian calendar; earlier ones, and day counts from an earlier
    /// reference date ("hours since 1-1-1"), differ by the days the reform skipped.
    #[default]
    Standard,
    /// `julian`: a leap year every fourth year, at every date.
    Julian,
    /// `proleptic_gregorian`: Gregorian leap years at every date.
    ProlepticGregorian,
    /// Every year 365 days (`noleap`, `365_day`).
    NoLeap,
    /// Every year 366 days (`all_leap`, `366_day`).
    AllLeap,
    /// Twelve months of 30 days (`360_day`).
    Day360,
}

impl Calendar {
    /// The calendar a CF `calendar` attribute names (case and surrounding space ignored).
    pub fn parse(name: &str) -> Result<Calendar, Error> {
        match name.trim().to_ascii_lowercase().as_str() {
            "standard" | "gregorian" => Ok(Calendar::Standard),
            "julian" => Ok(Calendar::Julian),
            "proleptic_gregorian" => Ok(Calendar::ProlepticGregorian),
            "noleap" | "365_day" => Ok(Calendar::NoLeap),
            "all_leap" | "366_day" => Ok(Calendar::AllLeap),
            "360_day" => Ok(Calendar::Day360),
            other => Err(Error::TimeUnits { units: format!("calendar {other:?}"), reason: "unknown calendar (standard, gregorian, julian, proleptic_gregorian, noleap, 365_day, all_leap, 366_day and 360_day are known)".into() }),
        }
    }

    /// The CF name, as written to a `calendar` attribute.
    pub fn name(self) -> &'static str {
        match self {
            Calendar::Standard => "standard",
            Calendar::Julian => "julian",
            Calendar::ProlepticGregorian => "proleptic_gregorian",
            Calendar::NoLeap => "noleap",
            Calendar::AllLeap => "all_leap",
            Calendar::Day360 => "360_day",
        }
    }

    fn is_leap(self, year: i64) -> bool {
        match self {
            Calendar::Standard if year < REFORM_YEAR => year.rem_euclid(4) == 0,
            Calendar::Julian => year.rem_euclid(4) == 0,
            Calendar::Standard | Calendar::ProlepticGregorian => (year % 4 == 0 && year % 100 != 0) || year % 400 == 0,
            Calendar::AllLeap => true,
            Calendar::NoLeap | Calendar::Day360 => false,
        }
    }

    /// How many days `month` (1 to 12) of `year` has in this calendar.
    pub fn days_in_month(self, year: i64, month: u32) -> u32 {
        if self == Calendar::Day360 {
            return 30;
        }
        match month {
            2 if self.is_leap(year) => 29,
            2 => 28,
            4 | 6 | 9 | 11 => 30,
            _ => 31,
        }
    }

    fn days_in_year(self, year: i64) -> i64 {
        match self {
            Calendar::Day360 => 360,
            _ if self.is_leap(year) => 366,
            _ => 365,
        }
    }

    /// Days since 1970-01-01 of a civil date (which must be valid in this calendar).
    pub fn days_from_civil(self, year: i64, month: u32, day: u32) -> i64 {
        match self {
            Calendar::Standard if (year, month, day) < REFORM => julian_days(year, month, day),
            Calendar::Julian => julian_days(year, month, day),
            Calendar::Standard | Calendar::ProlepticGregorian => gregorian_days(year, month, day),
            Calendar::Day360 => (year - 1970) * 360 + (month as i64 - 1) * 30 + day as i64 - 1,
            Calendar::NoLeap | Calendar::AllLeap => {
                let per_year = self.days_in_year(0);
                let before: i64 = (1..month).map(|m| self.days_in_month(year, m) as i64).sum();
                (year - 1970) * per_year + before + day as i64 - 1
            }
        }
    }

    /// The civil date of a day count since 1970-01-01.
    pub fn civil_from_days(self, days: i64) -> (i64, u32, u32) {
        match self {
            Calendar::Standard if days < gregorian_days(REFORM.0, REFORM.1, REFORM.2) => julian_civil(days),
            Calendar::Julian => julian_civil(days),
            Calendar::Standard | Calendar::ProlepticGregorian => gregorian_civil(days),
            _ => {
                let per_year = self.days_in_year(0);
                let year = 1970 + days.div_euclid(per_year);
                let mut rest = days.rem_euclid(per_year) as u32;
                let mut month = 1;
                while rest >= self.days_in_month(year, month) {
                    rest -= self.days_in_month(year, month);
                    month += 1;
                }
                (year, month, rest + 1)
            }
        }
    }
}

/// The first day of the Gregorian calendar in the `standard` calendar; the day before it is
/// 1582-10-04 in the Julian calendar.
const REFORM: (i64, u32, u32) = (1582, 10, 15);
const REFORM_YEAR: i64 = REFORM.0;

/// The month of a March-based year (March is 0, February 11), which puts each leap day at
/// the end of its year, so that day counts need no table (Howard Hinnant's algorithms).
fn march_month(month: u32) -> i64 {
    let m = month as i64;
    if m > 2 { m - 3 } else { m + 9 }
}

/// The civil month of a March-based month.
fn civil_month(march_month: i64) -> u32 {
    (if march_month < 10 { march_month + 3 } else { march_month - 9 }) as u32
}

/// Days since 1970-01-01 of a proleptic Gregorian date (eras of 400 years).
fn gregorian_days(year: i64, month: u32, day: u32) -> i64 {
    let y = if month <= 2 { year - 1 } else { year };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let doy = (153 * march_month(month) + 2) / 5 + day as i64 - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

fn gregorian_civil(days: i64) -> (i64, u32, u32) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let month = civil_month(mp);
    (yoe + era * 400 + i64::from(month <= 2), month, (doy - (153 * mp + 2) / 5 + 1) as u32)
}

/// Days from the Julian calendar's March-based year 0 to a Julian date (eras of 4 years).
fn julian_count(year: i64, month: u32, day: u32) -> i64 {
    let y = if month <= 2 { year - 1 } else { year };
    let era = y.div_euclid(4);
    let yoe = y - era * 4;
    era * 1461 + yoe * 365 + (153 * march_month(month) + 2) / 5 + day as i64 - 1
}

/// 1970-01-01 (Gregorian) is 1969-12-19 in the Julian calendar.
fn julian_epoch() -> i64 {
    julian_count(1969, 12, 19)
}

/// Days since 1970-01-01 of a Julian date.
fn julian_days(year: i64, month: u32, day: u32) -> i64 {
    julian_count(year, month, day) - julian_epoch()
}

fn julian_civil(days: i64) -> (i64, u32, u32) {
    let z = days + julian_epoch();
    let era = z.div_euclid(1461);
    let doe = z - era * 1461;
    // The fourth year of an era is the long one (its February has the leap day).
    let yoe = (doe - doe / 1460) / 365;
    let doy = doe - 365 * yoe;
    let mp = (5 * doy + 2) / 153;
    let month = civil_month(mp);
    (yoe + era * 4 + i64::from(month <= 2), month, (doy - (153 * mp + 2) / 5 + 1) as u32)
}

/// A civil date and time in some calendar (what a time label is made of).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct DateTime {
    /// The year (astronomical numbering: 0 is 1 BC, negative before).
    pub year: i64,
    /// The month, 1 to 12.
    pub month: u32,
    /// The day of the month, from 1.
    pub day: u32,
    /// The hour, 0 to 23.
    pub hour: u32,
    /// The minute, 0 to 59.
    pub minute: u32,
    /// The second, 0 to 59.
    pub second: u32,
    /// The microsecond, 0 to 999 999 (what sub-second units and reference dates keep).
    pub microsecond: u32,
}

/// Microseconds per second: instants count microseconds, as cftime's dates do, which keeps a
/// radar's or a sonde's fractions of a second and still spans ±146 000 years.
pub const MICROS: i64 = 1_000_000;

/// Microseconds per day.
pub const DAY: i64 = 86_400 * MICROS;

/// How much of a date string was given: "1997" is a year, "1997-12" a month, and so on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Resolution {
    /// "1997".
    Year,
    /// "1997-12".
    Month,
    /// "1997-12-01".
    Day,
    /// "1997-12-01T06".
    Hour,
    /// "1997-12-01T06:30".
    Minute,
    /// "1997-12-01T06:30:00".
    Second,
}

impl DateTime {
    /// Midnight at the start of this date.
    pub fn new(year: i64, month: u32, day: u32) -> DateTime {
        DateTime { year, month, day, hour: 0, minute: 0, second: 0, microsecond: 0 }
    }

    /// The instant: microseconds since 1970-01-01 00:00:00 in `calendar`.
    pub fn to_instant(self, calendar: Calendar) -> i64 {
        calendar.days_from_civil(self.year, self.month, self.day) * DAY
            + (self.hour as i64 * 3600 + self.minute as i64 * 60 + self.second as i64) * MICROS
            + self.microsecond as i64
    }

    /// [`DateTime::to_instant`], or `None` when the date lies beyond [`MAX_INSTANT`] (a
    /// year of many digits in a units string, say).
    pub fn to_instant_checked(self, calendar: Calendar) -> Option<i64> {
        // Beyond this many years the day count alone would not fit; MAX_INSTANT is less.
        if self.year.unsigned_abs() > (MAX_INSTANT / DAY / 360) as u64 {
            return None;
        }
        let t = self.to_instant(calendar);
        (t.abs() <= MAX_INSTANT).then_some(t)
    }

    /// The date and time of an instant (microseconds since 1970-01-01 in `calendar`).
    pub fn from_instant(instant: i64, calendar: Calendar) -> DateTime {
        let (year, month, day) = calendar.civil_from_days(instant.div_euclid(DAY));
        let in_day = instant.rem_euclid(DAY);
        let s = (in_day / MICROS) as u32;
        DateTime { year, month, day, hour: s / 3600, minute: s / 60 % 60, second: s % 60, microsecond: (in_day % MICROS) as u32 }
    }

    /// Day of the year, from 1.
    pub fn dayofyear(self, calendar: Calendar) -> u32 {
        (calendar.days_from_civil(self.year, self.month, self.day) - calendar.days_from_civil(self.year, 1, 1)) as u32 + 1
    }

    /// Parses "1997", "1997-12", "1997-12-01", "1997-12-01T06", "1997-12-01 06:30:00" (a
    /// trailing "Z" or "+00:00" is accepted), with how much was given.
    pub fn parse(text: &str) -> Result<(DateTime, Resolution), Error> {
        let bad = |reason: &str| Error::BadDate { text: text.to_string(), reason: reason.to_string() };
        let t = text.trim().trim_end_matches('Z');
        let t = t.strip_suffix("+00:00").or_else(|| t.strip_suffix("+0000")).unwrap_or(t).trim();
        let (date, time) = match t.find(['T', ' ']) {
            Some(i) => (&t[..i], t[i + 1..].trim()),
            None => (t, ""),
        };
        let (negative, date) = match date.strip_prefix('-') {
            Some(rest) => (true, rest),
            None => (false, date),
        };
        let parts: Vec<&str> = date.split('-').collect();
        let num = |s: &str| s.trim().parse::<i64>().map_err(|_| bad("not a number where one was expected"));
        if parts.is_empty() || parts.len() > 3 || parts[0].is_empty() {
            return Err(bad("expected YYYY[-MM[-DD]][THH[:MM[:SS]]]"));
        }
        let mut year = num(parts[0])?;
        if negative {
            year = -year;
        }
        let month = if parts.len() > 1 { num(parts[1])? as u32 } else { 1 };
        let day = if parts.len() > 2 { num(parts[2])? as u32 } else { 1 };
        if !(1..=12).contains(&month) || !(1..=31).contains(&day) {
            return Err(bad("month or day out of range"));
        }
        let mut resolution = [Resolution::Year, Resolution::Month, Resolution::Day][parts.len() - 1];
        let (mut hour, mut minute, mut second, mut microsecond) = (0, 0, 0, 0);
        if !time.is_empty() {
            let fields: Vec<&str> = time.split(':').collect();
            if fields.len() > 3 {
                return Err(bad("expected HH[:MM[:SS]] after the date"));
            }
            hour = num(fields[0])? as u32;
            minute = if fields.len() > 1 { num(fields[1])? as u32 } else { 0 };
            if fields.len() > 2 {
                let (whole, fraction) = fields[2].split_once('.').unwrap_or((fields[2], ""));
                second = num(whole)? as u32;
                // Microseconds: the first six digits of the fraction (cftime's precision).
                if !fraction.chars().all(|c| c.is_ascii_digit()) {
                    return Err(bad("not a number where one was expected"));
                }
                let digits: String = fraction.chars().chain(std::iter::repeat('0')).take(6).collect();
                microsecond = digits.parse::<u32>().unwrap_or(0);
            }
            if hour > 23 || minute > 59 || second > 59 {
                return Err(bad("time of day out of range (00:00:00 to 23:59:59)"));
            }
            resolution = [Resolution::Hour, Resolution::Minute, Resolution::Second][fields.len() - 1];
        }
        Ok((DateTime { year, month, day, hour, minute, second, microsecond }, resolution))
    }

    /// `self`, if its day exists in `calendar` ("1997-02-31" does not in any, "1997-02-30"
    /// does in the 360-day one); parsing alone cannot tell, as it knows no calendar.
    pub fn checked(self, calendar: Calendar) -> Result<DateTime, Error> {
        if self.day > calendar.days_in_month(self.year, self.month) {
            return Err(Error::BadDate {
                text: self.to_string(),
                reason: format!("{}-{:02} has {} days in the {} calendar", self.year, self.month, calendar.days_in_month(self.year, self.month), calendar.name()),
            });
        }
        Ok(self)
    }

    /// The first instant after the period of `resolution` that starts at `self`.
    pub fn end_of(self, resolution: Resolution, calendar: Calendar) -> i64 {
        let start = self.to_instant(calendar);
        match resolution {
            Resolution::Year => DateTime::new(self.year + 1, 1, 1).to_instant(calendar),
            Resolution::Month => {
                let (y, m) = if self.month == 12 { (self.year + 1, 1) } else { (self.year, self.month + 1) };
                DateTime::new(y, m, 1).to_instant(calendar)
            }
            Resolution::Day => start + DAY,
            Resolution::Hour => start + 3600 * MICROS,
            Resolution::Minute => start + 60 * MICROS,
            Resolution::Second => start + MICROS,
        }
    }
}

impl std::fmt::Display for DateTime {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{:04}-{:02}-{:02}", self.year, self.month, self.day)?;
        if (self.hour, self.minute, self.second, self.microsecond) != (0, 0, 0, 0) {
            write!(f, "T{:02}:{:02}:{:02}", self.hour, self.minute, self.second)?;
        }
        if self.microsecond != 0 {
            write!(f, ".{:06}", self.microsecond)?;
        }
        Ok(())
    }
}

/// The largest instant (in microseconds either side of 1970) that times may hold: about
/// 146 000 years, beyond any calendar in use (cftime's dates stop at year 9999), yet small
/// enough that every date computation on it (days times [`DAY`], month arithmetic) stays
/// inside `i64`. Stored numbers that decode beyond it are an error rather than a wrapped,
/// meaningless date.
pub const MAX_INSTANT: i64 = 1 << 62;

/// A CF time unit: "days since 1982-01-01 00:00:00" and the like.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TimeUnits {
    /// Nanoseconds per unit: whole numbers for every unit CF and xarray write, from days
    /// down to "nanoseconds since" (instants themselves are whole microseconds).
    pub step_ns: i64,
    /// The reference date after "since", as written (in its own time zone).
    pub epoch: DateTime,
    /// The reference date's time zone, in seconds east of UTC ("+05:30" is 19 800): the
    /// reference instant is `epoch` minus this, as xarray (pandas) reads it.
    pub utc_offset: i64,
}

const NANOS_PER_SECOND: i64 = 1_000_000_000;

impl TimeUnits {
    /// Parses a CF `units` attribute, `"<unit> since <date>"` (days, hours, minutes,
    /// seconds, milliseconds, microseconds, nanoseconds or weeks, with their short
    /// spellings; case ignored).
    pub fn parse(units: &str) -> Result<TimeUnits, Error> {
        let bad = |reason: &str| Error::TimeUnits { units: units.to_string(), reason: reason.to_string() };
        // The unit and "since" in any case; the date as written ("T", "Z" and "UTC" may be
        // upper case). Lower-casing ASCII keeps byte offsets, so one search serves both.
        let lower = units.trim().to_ascii_lowercase();
        let Some(at) = lower.find(" since ") else {
            return Err(bad("expected '<unit> since <date>'"));
        };
        let (unit, epoch) = (&lower[..at], &units.trim()[at + " since ".len()..]);
        let seconds = match unit.trim() {
            "days" | "day" | "d" => 86_400,
            "hours" | "hour" | "hrs" | "hr" | "h" => 3600,
            "minutes" | "minute" | "mins" | "min" => 60,
            "seconds" | "second" | "secs" | "sec" | "s" => 1,
            "weeks" | "week" => 7 * 86_400,
            // xarray writes these when times are not whole seconds (or when told to); UDUNITS
            // spells them "msec" and "usec" too.
            "milliseconds" | "millisecond" | "msecs" | "msec" | "ms" => return Self::with_step(NANOS_PER_SECOND / 1_000, epoch, bad),
            "microseconds" | "microsecond" | "usecs" | "usec" | "us" => return Self::with_step(NANOS_PER_SECOND / 1_000_000, epoch, bad),
            "nanoseconds" | "nanosecond" | "nsecs" | "nsec" | "ns" => return Self::with_step(1, epoch, bad),
            other => return Err(bad(&format!("unit {other:?} is not one of days, hours, minutes, seconds, milliseconds, microseconds, nanoseconds or weeks"))),
        };
        Self::with_step(seconds * NANOS_PER_SECOND, epoch, bad)
    }

    fn with_step(step_ns: i64, epoch: &str, bad: impl Fn(&str) -> Error) -> Result<TimeUnits, Error> {
        let (epoch, utc_offset) = split_utc_offset(epoch.trim()).map_err(|reason| bad(&reason))?;
        let (epoch, _) = DateTime::parse(epoch).map_err(|e| bad(&e.to_string()))?;
        if epoch.to_instant_checked(Calendar::Standard).is_none() {
            return Err(bad("the reference date is out of range"));
        }
        Ok(TimeUnits { step_ns, epoch, utc_offset })
    }

    /// Microseconds per unit (a thousandth for nanoseconds).
    fn step_micros(&self) -> f64 {
        self.step_ns as f64 / 1_000.0
    }

    /// The units as a CF `units` attribute: `"days since 1982-01-01 00:00:00"`.
    pub fn name(&self) -> String {
        let unit = match (self.step_ns, self.step_ns / NANOS_PER_SECOND) {
            (1, _) => "nanoseconds",
            (1_000, _) => "microseconds",
            (1_000_000, _) => "milliseconds",
            (_, 86_400) => "days",
            (_, 3600) => "hours",
            (_, 60) => "minutes",
            (_, 604_800) => "weeks",
            _ => "seconds",
        };
        let e = self.epoch;
        let mut name = format!("{unit} since {:04}-{:02}-{:02} {:02}:{:02}:{:02}", e.year, e.month, e.day, e.hour, e.minute, e.second);
        if e.microsecond != 0 {
            name.push_str(&format!(".{:06}", e.microsecond));
        }
        if self.utc_offset != 0 {
            let (sign, offset) = if self.utc_offset < 0 { ('-', -self.utc_offset) } else { ('+', self.utc_offset) };
            name.push_str(&format!(" {sign}{:02}:{:02}", offset / 3600, offset / 60 % 60));
        }
        name
    }

    /// Instants (microseconds in `calendar`) of the stored numbers of `variable`; NaN and
    /// int64's minimum (NaT's bit pattern, as xarray writes missing times) are "no time"
    /// (`None`). Parts finer than a microsecond are rounded. A number that
    /// lands beyond [`MAX_INSTANT`] is an error naming the variable, as xarray refuses to
    /// decode it too (rather than wrapping around to some other date).
    pub fn decode(&self, variable: &str, values: &[f64], calendar: Calendar) -> Result<Vec<Option<i64>>, Error> {
        let out_of_range = |value: f64| Error::TimeOutOfRange { variable: variable.to_string(), value, units: self.name() };
        let epoch = self.epoch.checked(calendar).map_err(|e| Error::TimeUnits { units: self.name(), reason: e.to_string() })?;
        let epoch = epoch.to_instant_checked(calendar).ok_or_else(|| out_of_range(0.0))? - self.utc_offset * MICROS;
        let step = self.step_micros();
        values
            .iter()
            .map(|&v| {
                if !v.is_finite() || v == i64::MIN as f64 {
                    return Ok(None);
                }
                let offset = (v * step).round();
                // In range as a float first, so the conversion to i64 cannot saturate.
                if offset.abs() > MAX_INSTANT as f64 {
                    return Err(out_of_range(v));
                }
                match epoch.checked_add(offset as i64) {
                    Some(t) if t.abs() <= MAX_INSTANT => Ok(Some(t)),
                    _ => Err(out_of_range(v)),
                }
            })
            .collect()
    }

    /// Instants of stored whole counts (int64 variables), computed in integers: exact for
    /// every count, where [`TimeUnits::decode`] works in float64 (exact to 2^53 units, some
    /// 285 years of microseconds). Nanosecond counts round to the microsecond.
    pub fn decode_counts(&self, variable: &str, counts: &[i64], calendar: Calendar) -> Result<Vec<Option<i64>>, Error> {
        let out_of_range = |value: i64| Error::TimeOutOfRange { variable: variable.to_string(), value: value as f64, units: self.name() };
        let epoch = self.epoch.checked(calendar).map_err(|e| Error::TimeUnits { units: self.name(), reason: e.to_string() })?;
        let epoch = i128::from(epoch.to_instant_checked(calendar).ok_or_else(|| out_of_range(0))? - self.utc_offset * MICROS);
        let step_ns = i128::from(self.step_ns);
        counts
            .iter()
            .map(|&n| {
                // int64's minimum is NaT's bit pattern, which xarray writes for missing
                // times in integer units without a fill value.
                if n == i64::MIN {
                    return Ok(None);
                }
                let ns = i128::from(n) * step_ns;
                // Rounded to the nearest microsecond, halves away from zero (as f64::round).
                let micros = if ns >= 0 { (ns + 500) / 1_000 } else { (ns - 500) / 1_000 };
                let t = epoch + micros;
                if t.abs() > i128::from(MAX_INSTANT) {
                    return Err(out_of_range(n));
                }
                Ok(Some(t as i64))
            })
            .collect()
    }

    /// The whole count stored for `instant` in these units, when it is one (always, for the
    /// units [`TimeUnits::for_instants`] chooses): the integer inverse of
    /// [`TimeUnits::decode_counts`].
    pub fn encode_count(&self, instant: i64, calendar: Calendar) -> Option<i64> {
        let since_ns = (i128::from(instant) - i128::from(self.epoch.to_instant(calendar) - self.utc_offset * MICROS)) * 1_000;
        let step = i128::from(self.step_ns);
        (since_ns % step == 0).then(|| since_ns / step).and_then(|n| i64::try_from(n).ok())
    }

    /// The units xarray would choose for these instants: the coarsest of days, hours,
    /// minutes, seconds, milliseconds and microseconds that counts every one of them
    /// exactly, since the first day.
    pub fn for_instants(instants: &[i64], calendar: Calendar) -> TimeUnits {
        let first = instants.iter().copied().min().unwrap_or(0);
        let epoch = DateTime::from_instant(first - first.rem_euclid(DAY), calendar);
        let base = epoch.to_instant(calendar);
        let step = [DAY, 3600 * MICROS, 60 * MICROS, MICROS, 1_000, 1].into_iter().find(|&s| instants.iter().all(|&t| (t - base) % s == 0)).unwrap_or(1);
        TimeUnits { step_ns: step * 1_000, epoch, utc_offset: 0 }
    }

    /// The number stored for `instant` (microseconds in `calendar`) in these units: the
    /// inverse of [`TimeUnits::decode`].
    pub fn encode(&self, instant: i64, calendar: Calendar) -> f64 {
        (instant - (self.epoch.to_instant(calendar) - self.utc_offset * MICROS)) as f64 / self.step_micros()
    }
}

/// Splits a reference date into the date and time as written and its time zone, in seconds
/// east of UTC: "2000-01-01 00:00:00 -6:00", "2000-01-01T00:00:00+05:30", "... +0530",
/// "... UTC", "...Z" and "... 0:00" (UTC) are what producers write. The zone can only follow a time of
/// day (the date's own dashes are not one), separated by a space or not.
fn split_utc_offset(text: &str) -> Result<(&str, i64), String> {
    let mut t = text.trim();
    for utc in [" utc", " gmt", "utc", "z"] {
        if t.len() >= utc.len() && t[t.len() - utc.len()..].eq_ignore_ascii_case(utc) {
            t = t[..t.len() - utc.len()].trim_end();
            break;
        }
    }
    // The time of day starts after the date: at its "T" or at the first space.
    let Some(time_at) = t.find(['T', 't', ' ']) else { return Ok((t, 0)) };
    let time = &t[time_at + 1..];
    // ARM and other producers write the zone unsigned, "... 00:00:00 0:00": zero is UTC
    // (pandas reads any other unsigned "H:MM" as a time of day, so it is not guessed at).
    if let Some((clock, zone)) = time.trim().rsplit_once(' ') {
        if clock.contains(':') && matches!(zone, "0:00" | "00:00") {
            return Ok((t[..time_at + 1 + time.trim_end().len() - zone.len()].trim_end(), 0));
        }
    }
    let Some(sign_at) = time.rfind(['+', '-']) else { return Ok((t, 0)) };
    let zone = &time[sign_at + 1..];
    let sign = if time[sign_at..].starts_with('-') { -1 } else { 1 };
    let digits: String = zone.chars().filter(|c| *c != ':').collect();
    let number = |s: &str| s.parse::<i64>().map_err(|_| format!("{zone:?} is not a time zone (expected [+-]HH[:MM])"));
    let (hours, minutes) = match (zone.split_once(':'), digits.len()) {
        (Some((h, m)), _) => (number(h.trim())?, number(m.trim())?),
        (None, 1 | 2) => (number(&digits)?, 0),
        (None, 4) => (number(&digits[..2])?, number(&digits[2..])?),
        _ => return Err(format!("{zone:?} is not a time zone (expected [+-]HH[:MM])")),
    };
    if hours > 23 || minutes > 59 {
        return Err(format!("time zone {zone:?} out of range"));
    }
    Ok((t[..time_at + 1 + sign_at].trim_end(), sign * (hours * 3600 + minutes * 60)))
}

/// The meteorological season of a month, as xarray names them.
pub fn season(month: u32) -> &'static str {
    match month {
        12 | 1 | 2 => "DJF",
        3..=5 => "MAM",
        6..=8 => "JJA",
        _ => "SON",
    }
}

#[cfg(test)]
#[path = "time_cases.rs"]
mod xarray_cases;

#[cfg(test)]
mod tests {
    use super::*;

    /// (units, calendar, stored value, the date cftime gives), from `cftime.num2date`, which
    /// is what xarray decodes these with: days on both sides of the 1582 reform, counts from
    /// year 1, leap days the Julian calendar has and the Gregorian has not.
    const CFTIME_CASES: &[(&str, &str, f64, (i64, u32, u32, u32, u32, u32))] = &[
        ("hours since 1-1-1 00:00:0.0", "standard", 0.0, (1, 1, 1, 0, 0, 0)),
        ("hours since 1-1-1 00:00:0.0", "standard", 24.0, (1, 1, 2, 0, 0, 0)),
        ("hours since 1-1-1 00:00:0.0", "standard", 17514360.0, (1999, 1, 10, 0, 0, 0)),
        ("hours since 1-1-1 00:00:0.0", "standard", 17532984.0, (2001, 2, 24, 0, 0, 0)),
        ("days since 1-1-1", "standard", 0.0, (1, 1, 1, 0, 0, 0)),
        ("days since 1-1-1", "standard", 577735.0, (1582, 10, 3, 0, 0, 0)),
        ("days since 1-1-1", "standard", 577736.0, (1582, 10, 4, 0, 0, 0)),
        ("days since 1-1-1", "standard", 577737.0, (1582, 10, 15, 0, 0, 0)),
        ("days since 1-1-1", "standard", 730119.0, (1999, 12, 30, 0, 0, 0)),
        ("days since 1582-10-04", "gregorian", 0.0, (1582, 10, 4, 0, 0, 0)),
        ("days since 1582-10-04", "gregorian", 1.0, (1582, 10, 15, 0, 0, 0)),
        ("days since 1582-10-04", "gregorian", 2.0, (1582, 10, 16, 0, 0, 0)),
        ("days since 1582-10-15", "standard", -1.0, (1582, 10, 4, 0, 0, 0)),
        ("days since 1582-10-15", "standard", -2.0, (1582, 10, 3, 0, 0, 0)),
        ("days since 1582-10-15", "standard", 0.0, (1582, 10, 15, 0, 0, 0)),
        ("days since 1582-10-15", "standard", -365000.0, (583, 6, 12, 0, 0, 0)),
        ("days since 1970-01-01", "standard", -141428.0, (1582, 10, 4, 0, 0, 0)),
        ("days since 1970-01-01", "standard", -141427.0, (1582, 10, 15, 0, 0, 0)),
        ("days since 1970-01-01", "standard", -141438.0, (1582, 9, 24, 0, 0, 0)),
        ("days since 1970-01-01", "standard", -719162.0, (1, 1, 3, 0, 0, 0)),
        ("days since 1970-01-01", "standard", 0.0, (1970, 1, 1, 0, 0, 0)),
        ("days since 1970-01-01", "standard", 11322.0, (2000, 12, 31, 0, 0, 0)),
        ("days since 1970-01-01", "julian", 0.0, (1970, 1, 1, 0, 0, 0)),
        ("days since 1970-01-01", "julian", 1.0, (1970, 1, 2, 0, 0, 0)),
        ("days since 1970-01-01", "julian", -1.0, (1969, 12, 31, 0, 0, 0)),
        ("days since 1970-01-01", "julian", 11322.0, (2000, 12, 31, 0, 0, 0)),
        ("days since 1970-01-01", "julian", -719162.0, (1, 1, 16, 0, 0, 0)),
        ("days since 1970-01-01", "julian", 146000.0, (2369, 9, 23, 0, 0, 0)),
        ("hours since 1-1-1", "julian", 0.0, (1, 1, 1, 0, 0, 0)),
        ("hours since 1-1-1", "julian", 17532984.0, (2001, 2, 11, 0, 0, 0)),
        ("days since 1-1-1", "proleptic_gregorian", 0.0, (1, 1, 1, 0, 0, 0)),
        ("days since 1-1-1", "proleptic_gregorian", 577737.0, (1582, 10, 17, 0, 0, 0)),
        ("days since 1-1-1", "proleptic_gregorian", 730119.0, (2000, 1, 1, 0, 0, 0)),
        ("seconds since 1000-02-28 12:00:00", "standard", 43200.0, (1000, 2, 29, 0, 0, 0)),
        ("seconds since 1000-02-28 12:00:00", "standard", 172800.0, (1000, 3, 1, 12, 0, 0)),
        ("days since 1900-02-28", "julian", 1.0, (1900, 2, 29, 0, 0, 0)),
        ("days since 1900-02-28", "julian", 2.0, (1900, 3, 1, 0, 0, 0)),
    ];

    #[test]
    fn days_that_do_not_exist_are_errors_in_their_calendar() {
        let (feb31, _) = DateTime::parse("1997-02-31").unwrap();
        assert!(matches!(feb31.checked(Calendar::Standard), Err(Error::BadDate { .. })));
        let (feb30, _) = DateTime::parse("1997-02-30").unwrap();
        assert!(feb30.checked(Calendar::Day360).is_ok() && feb30.checked(Calendar::NoLeap).is_err());
        let (leap, _) = DateTime::parse("1900-02-29").unwrap();
        assert!(leap.checked(Calendar::Julian).is_ok() && leap.checked(Calendar::ProlepticGregorian).is_err());
        assert!(DateTime::parse("1997-01-01T24:00").is_err() && DateTime::parse("1997-01-01 23:59:60").is_err());
        let units = TimeUnits::parse("days since 1997-02-31").unwrap();
        assert!(matches!(units.decode("t", &[0.0], Calendar::Standard), Err(Error::TimeUnits { .. })));
    }

    #[test]
    fn reference_dates_with_time_zones_decode_as_xarray() {
        // (units, the instant xarray gives for 0 of them), from xarray.decode_cf.
        let cases = [
            ("hours since 2000-01-01 00:00:00 -6:00", DateTime { hour: 6, ..DateTime::new(2000, 1, 1) }),
            ("hours since 2000-01-01T00:00:00+05:30", DateTime { hour: 18, minute: 30, ..DateTime::new(1999, 12, 31) }),
            ("hours since 2000-01-01 00:00:00 +0530", DateTime { hour: 18, minute: 30, ..DateTime::new(1999, 12, 31) }),
            ("hours since 2000-01-01 00:00:00 UTC", DateTime::new(2000, 1, 1)),
            ("hours since 2000-01-01T00:00:00Z", DateTime::new(2000, 1, 1)),
            ("hours since 2000-01-01 06 -06", DateTime { hour: 12, ..DateTime::new(2000, 1, 1) }),
            ("days since 1-1-1 00:00:0.0", DateTime::new(1, 1, 1)),
            ("days since -100-01-01", DateTime::new(-100, 1, 1)),
            // ARM's sonde files.
            ("seconds since 2011-05-20 00:00:00 0:00", DateTime::new(2011, 5, 20)),
        ];
        for (units, expected) in cases {
            let parsed = TimeUnits::parse(units).unwrap();
            let instant = parsed.decode("t", &[0.0], Calendar::Standard).unwrap()[0].unwrap();
            assert_eq!(DateTime::from_instant(instant, Calendar::Standard), expected, "{units}");
            // The units it writes back decode to the same instant.
            let again = TimeUnits::parse(&parsed.name()).unwrap();
            assert_eq!(again.decode("t", &[0.0], Calendar::Standard).unwrap()[0], Some(instant), "{}", parsed.name());
        }
        assert!(matches!(TimeUnits::parse("hours since 2000-01-01 00:00:00 +25:00"), Err(Error::TimeUnits { .. })));
        assert!(matches!(TimeUnits::parse("hours since 2000-01-01 00:00:00 +5x"), Err(Error::TimeUnits { .. })));
    }

    #[test]
    fn decodes_as_cftime_across_the_reform_and_in_the_julian_calendar() {
        for &(units, calendar, value, (year, month, day, hour, minute, second)) in CFTIME_CASES {
            let calendar = Calendar::parse(calendar).unwrap();
            let units = TimeUnits::parse(units).unwrap();
            let instant = units.decode("t", &[value], calendar).unwrap()[0].unwrap();
            let got = DateTime::from_instant(instant, calendar);
            assert_eq!(got, DateTime { year, month, day, hour, minute, second, microsecond: 0 }, "{value} {} in {}", units.name(), calendar.name());
            assert_eq!(units.encode(instant, calendar), value, "encoding back {got}");
        }
    }

    #[test]
    fn every_day_round_trips_in_the_julian_and_mixed_calendars() {
        for calendar in [Calendar::Standard, Calendar::Julian, Calendar::ProlepticGregorian] {
            let mut previous = calendar.civil_from_days(-800_000);
            for days in -799_999..200_000 {
                let civil = calendar.civil_from_days(days);
                assert_eq!(calendar.days_from_civil(civil.0, civil.1, civil.2), days, "{civil:?} in {}", calendar.name());
                assert!(civil > previous, "dates follow each other: {previous:?} then {civil:?}");
                assert!(civil.2 <= calendar.days_in_month(civil.0, civil.1), "{civil:?}");
                previous = civil;
            }
        }
        // The day after 1582-10-04 is 1582-10-15 in the standard calendar.
        let last_julian = Calendar::Standard.days_from_civil(1582, 10, 4);
        assert_eq!(Calendar::Standard.civil_from_days(last_julian + 1), (1582, 10, 15));
        assert!(Calendar::Standard.is_leap(1500) && !Calendar::ProlepticGregorian.is_leap(1500) && !Calendar::Standard.is_leap(1700));
    }

    #[test]
    fn gregorian_round_trip_and_known_days() {
        let c = Calendar::Standard;
        assert_eq!(c.days_from_civil(1970, 1, 1), 0);
        assert_eq!(c.days_from_civil(2000, 3, 1), 11_017);
        assert_eq!(c.days_from_civil(1900, 1, 1), -25_567);
        for days in (-800_000..800_000).step_by(997) {
            let (y, m, d) = c.civil_from_days(days);
            assert_eq!(c.days_from_civil(y, m, d), days);
        }
    }

    #[test]
    fn model_calendars_round_trip() {
        for c in [Calendar::NoLeap, Calendar::AllLeap, Calendar::Day360] {
            for days in (-50_000..50_000).step_by(37) {
                let (y, m, d) = c.civil_from_days(days);
                assert!(d <= c.days_in_month(y, m));
                assert_eq!(c.days_from_civil(y, m, d), days, "{c:?}");
            }
        }
        assert_eq!(Calendar::Day360.civil_from_days(359), (1970, 12, 30));
        assert_eq!(Calendar::NoLeap.days_from_civil(1972, 3, 1) - Calendar::NoLeap.days_from_civil(1972, 2, 28), 1);
    }

    #[test]
    fn units_parse_decode_encode() {
        let u = TimeUnits::parse("days since 1982-01-01 00:00:00").unwrap();
        let t = u.decode("time", &[0.0, 31.0, f64::NAN], Calendar::Standard).unwrap();
        assert_eq!(DateTime::from_instant(t[1].unwrap(), Calendar::Standard), DateTime::new(1982, 2, 1));
        assert_eq!(t[2], None);
        assert_eq!(u.encode(t[1].unwrap(), Calendar::Standard), 31.0);
        let h = TimeUnits::parse("hours since 1900-01-01").unwrap();
        assert_eq!(h.step_ns, 3600 * 1_000_000_000);
        assert!(TimeUnits::parse("fortnights since 1900-01-01").is_err());
        assert!(TimeUnits::parse("days after 1900").is_err());
        assert!(TimeUnits::parse("days since yesterday").is_err());
    }

    #[test]
    fn sub_second_units_and_reference_dates_keep_microseconds() {
        let ms = TimeUnits::parse("milliseconds since 2000-01-01 00:00:00").unwrap();
        let t = ms.decode("time", &[0.0, 3_600_000.0, 1_499.0], Calendar::Standard).unwrap();
        let base = DateTime::new(2000, 1, 1).to_instant(Calendar::Standard);
        assert_eq!(t, vec![Some(base), Some(base + 3600 * MICROS), Some(base + 1_499_000)]);
        assert_eq!(ms.encode(base + 3600 * MICROS, Calendar::Standard), 3_600_000.0);
        assert!(ms.name().starts_with("milliseconds since 2000-01-01"));
        let us = TimeUnits::parse("microseconds since 1970-01-01").unwrap();
        assert_eq!(us.decode("time", &[2_000_001.0], Calendar::NoLeap).unwrap(), vec![Some(2_000_001)]);
        // Nanoseconds round to the microsecond.
        let ns = TimeUnits::parse("nanoseconds since 1970-01-01").unwrap();
        assert_eq!(ns.decode("time", &[1_600.0], Calendar::Standard).unwrap(), vec![Some(2)]);
        // A reference date with a fraction of a second, and fractional seconds in the data
        // (a radar's times): shown and written back with their microseconds.
        let radar = TimeUnits::parse("seconds since 2013-04-19T13:49:18.5Z").unwrap();
        let t = radar.decode("time", &[0.375433], Calendar::Standard).unwrap()[0].unwrap();
        let shown = DateTime::from_instant(t, Calendar::Standard);
        assert_eq!((shown.second, shown.microsecond, shown.to_string()), (18, 875_433, "2013-04-19T13:49:18.875433".to_string()));
        let units = TimeUnits::for_instants(&[t, t + 1_000], Calendar::Standard);
        assert!(units.name().starts_with("microseconds since 2013-04-19"), "{}", units.name());
        assert_eq!(units.decode("time", &[units.encode(t, Calendar::Standard)], Calendar::Standard).unwrap()[0], Some(t));
        assert_eq!(TimeUnits::parse(&radar.name()).unwrap(), radar);
        for spelling in ["ms since 1970-01-01", "us since 1970-01-01", "nanoseconds since 1970-01-01", "msec since 1970-01-01"] {
            assert!(TimeUnits::parse(spelling).is_ok(), "{spelling}");
        }
    }

    #[test]
    fn huge_unmasked_times_are_an_error_naming_the_variable() {
        let u = TimeUnits::parse("days since 1970-01-01").unwrap();
        for huge in [1e300, -1e300, 9.2e18, 1.5e13] {
            match u.decode("obs_time", &[0.0, huge], Calendar::Standard) {
                Err(Error::TimeOutOfRange { variable, value, .. }) => assert_eq!((variable.as_str(), value), ("obs_time", huge)),
                other => panic!("{huge}: {other:?}"),
            }
        }
        // Large but representable: fine, and back to the same number.
        let far = u.decode("t", &[1e7], Calendar::Standard).unwrap()[0].unwrap();
        assert_eq!(u.encode(far, Calendar::Standard), 1e7);
        // An epoch of absurd year is refused when parsed, not when used.
        assert!(matches!(TimeUnits::parse("days since 99999999999999-01-01"), Err(Error::TimeUnits { .. })));
    }

    #[test]
    fn partial_dates() {
        assert_eq!(DateTime::parse("1997-12").unwrap(), (DateTime::new(1997, 12, 1), Resolution::Month));
        let (d, r) = DateTime::parse("1997").unwrap();
        assert_eq!(d.end_of(r, Calendar::Standard), DateTime::new(1998, 1, 1).to_instant(Calendar::Standard));
        assert_eq!(DateTime::parse("2001-02-03T04:05:06Z").unwrap().1, Resolution::Second);
        assert!(DateTime::parse("1997-13").is_err());
        assert!(DateTime::parse("soon").is_err());
    }
}
