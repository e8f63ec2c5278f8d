//! Do-not-call list files: Bloctel answers and internal DNC uploads.
//!
//! Bloctel, France's national opposition list, answers a company's submission with the numbers
//! it must not call. That file and the internal lists operators upload share one accepted
//! format, which [`parse_list`] reads:
//!
//! - one number per line, in national (`06 12 34 56 78`, `0612345678`) or international
//!   (`+33612345678`, `0033612345678`, `33612345678`) form, with the usual separators;
//! - optionally more columns after the number, separated by `;`, `,`, tab or `|`: only the
//!   first column is read, and it may be quoted;
//! - optionally a header line (`numero`, `telephone`, `Numéro;Date`…): a first line whose
//!   first column holds no digit is skipped silently;
//! - blank lines are ignored, CRLF or LF line ends, UTF-8 with or without a byte order mark.
//!
//! Every other line that is not a valid number is reported with its line number; the rest of
//! the file is still read.

use std::io::Read;

use crate::import::{LineError, Records};
use crate::phone::{self, Region};

/// Reads a do-not-call list and yields each number in E.164 form, or the line that is not a
/// number and why. Numbers in national form are read as numbers of `default_region`.
///
/// An unknown `default_region` yields a single error with line 0; a read error ends the
/// iteration with an error naming the line reached.
pub fn parse_list<R: Read>(
    reader: R,
    default_region: &str,
) -> impl Iterator<Item = Result<String, LineError>> {
    let start = Region::parse(default_region)
        .map_err(|e| LineError {
            line: 0,
            reason: format!("default region: {e}"),
        })
        .and_then(|region| {
            // Commas and semicolons both end the number column, so the sniffed delimiter only
            // matters for tabs and quoting.
            Records::new(reader, None)
                .map(|records| (region, records))
                .map_err(|e| LineError {
                    line: 1,
                    reason: format!("reading the file failed: {e}"),
                })
        });
    let (state, first_error) = match start {
        Ok((region, records)) => (Some((region, records)), None),
        Err(e) => (None, Some(e)),
    };
    DncList {
        state,
        first_error,
        header_possible: true,
    }
}

/// The iterator behind [`parse_list`].
struct DncList<R> {
    state: Option<(Region, Records<R>)>,
    /// An error to yield before anything else (then the iteration ends).
    first_error: Option<LineError>,
    /// True until the first non-blank line has been seen.
    header_possible: bool,
}

impl<R: Read> Iterator for DncList<R> {
    type Item = Result<String, LineError>;

    fn next(&mut self) -> Option<Self::Item> {
        if let Some(e) = self.first_error.take() {
            self.state = None;
            return Some(Err(e));
        }
        let (region, records) = self.state.as_mut()?;
        loop {
            match records.next_record() {
                Ok(true) => {}
                Ok(false) => {
                    self.state = None;
                    return None;
                }
                Err(e) => {
                    let line = records.line;
                    self.state = None;
                    return Some(Err(LineError {
                        line,
                        reason: format!("reading the file failed here, import stopped: {e}"),
                    }));
                }
            }
            let record = &records.record;
            let line = record.line;
            let error = |reason: String| Some(Err(LineError { line, reason }));
            if let Some(problem) = record.problem {
                self.header_possible = false;
                return error(problem.to_string());
            }
            let Ok(first) = std::str::from_utf8(record.field(0)) else {
                self.header_possible = false;
                return error("not valid UTF-8 text".to_string());
            };
            let number = first
                .split([';', ',', '\t', '|'])
                .next()
                .unwrap_or_default()
                .trim();
            if number.is_empty() {
                continue;
            }
            if std::mem::take(&mut self.header_possible)
                && !number.contains(|c: char| c.is_ascii_digit())
            {
                continue;
            }
            return Some(
                phone::normalize_in(number, *region)
                    .map(|n| n.e164)
                    .map_err(|e| LineError {
                        line,
                        reason: format!("{number:?}: {e}"),
                    }),
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Vec<Result<String, LineError>> {
        parse_list(text.as_bytes(), "FR").collect()
    }

    fn err(line: u64, reason: &str) -> Result<String, LineError> {
        Err(LineError {
            line,
            reason: reason.to_string(),
        })
    }

    #[test]
    fn bloctel_answer_with_header_and_bad_lines() {
        let file = "\u{feff}numero\r\n0612345678\r\n+33 6 98 76 54 32\r\n\r\n33142685300\r\nabc\r\n12\r\n0033 7 81 23 45 67\r\n";
        assert_eq!(
            parse(file),
            vec![
                Ok("+33612345678".to_string()),
                Ok("+33698765432".to_string()),
                Ok("+33142685300".to_string()),
                err(6, "\"abc\": not a phone number"),
                err(7, "\"12\": not a valid number for FR"),
                Ok("+33781234567".to_string()),
            ]
        );
    }

    #[test]
    fn semicolon_columns_and_quotes() {
        let file =
            "Téléphone;Date d'inscription\n\"06 12 34 56 78\";2024-01-02\n0698765432;2024-01-03\n";
        assert_eq!(
            parse(file),
            vec![
                Ok("+33612345678".to_string()),
                Ok("+33698765432".to_string())
            ]
        );
        // Without a header; the delimiter sniffed from a number-only first line is irrelevant.
        let file = "0612345678\n0698765432;x\n";
        assert_eq!(
            parse(file),
            vec![
                Ok("+33612345678".to_string()),
                Ok("+33698765432".to_string())
            ]
        );
    }

    #[test]
    fn only_the_first_line_can_be_a_header() {
        let file = "0612345678\ntelephone\n";
        assert_eq!(
            parse(file),
            vec![
                Ok("+33612345678".to_string()),
                err(2, "\"telephone\": not a phone number"),
            ]
        );
    }

    #[test]
    fn invalid_utf8_and_unknown_region() {
        let file = b"numero\n06 12 34 56 78\n\xff\xfe\n0698765432\n";
        assert_eq!(
            parse_list(&file[..], "FR").collect::<Vec<_>>(),
            vec![
                Ok("+33612345678".to_string()),
                err(3, "not valid UTF-8 text"),
                Ok("+33698765432".to_string()),
            ]
        );
        let all: Vec<_> = parse_list("0612345678\n".as_bytes(), "ZZ").collect();
        assert_eq!(all.len(), 1);
        assert_eq!(all[0].as_ref().unwrap_err().line, 0);
    }

    #[test]
    fn empty_file() {
        assert!(parse("").is_empty());
        assert!(parse("\n\n").is_empty());
    }
}
