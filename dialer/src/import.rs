//! Streaming CSV lead import with a per-line report.
//!
//! [`Importer`] reads a lead file once, front to back, and yields one [`Row`] per data line:
//! a [`ParsedLead`] ready to insert, a [`Row::Duplicate`] of a number seen earlier in the same
//! file, or a [`LineError`] saying what is wrong with that line. Only problems with the whole
//! file (no header, no phone column, unreadable source) stop an import, as an [`ImportError`]
//! from [`Importer::new`].
//!
//! The CSV reader is written here rather than taken from the `csv` crate because the report
//! needs three things that crate does not give: the physical line each record starts on even
//! after blank lines, a hard cap on the memory one record may take ([`MAX_FIELD_BYTES`],
//! [`MAX_RECORD_BYTES`]), and bytes rather than text so that one line of bad UTF-8 costs one
//! line. It follows RFC 4180 with the usual leniency: `,` `;` tab or `|` as delimiter (sniffed
//! from the header line), CRLF, LF or CR line ends, a UTF-8 byte order mark, quoted fields
//! with `""` escapes and embedded line breaks, blank lines skipped.

use std::collections::HashMap;
use std::io::{self, Read};

use chrono_tz::Tz;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::phone::{self, PhoneError, Region};

/// The longest field accepted, in bytes; a longer one makes its line invalid.
pub const MAX_FIELD_BYTES: usize = 64 * 1024;
/// The longest record accepted, in bytes (delimiters and quotes included).
pub const MAX_RECORD_BYTES: usize = 1024 * 1024;
/// The lowest and highest lead priority a file may set.
pub const PRIORITY_RANGE: std::ops::RangeInclusive<i32> = -100..=100;

/// Bytes read from the source at a time.
const CHUNK: usize = 64 * 1024;
/// The delimiters sniffed from the header line, preferred in this order on a tie.
const DELIMITERS: [u8; 4] = [b',', b';', b'\t', b'|'];

/// Which CSV column holds which lead attribute; values are header names as in the file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ColumnMapping {
    /// The phone number column (required).
    pub phone: String,
    /// The first name column.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub first_name: Option<String>,
    /// The last name column.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_name: Option<String>,
    /// The email column.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub email: Option<String>,
    /// The column holding an IANA time zone name per lead.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub time_zone: Option<String>,
    /// The column holding the lead's identifier in the customer's own system.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub external_id: Option<String>,
    /// The column holding a priority from -100 to 100.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub priority: Option<String>,
}

/// Header names recognised by [`ColumnMapping::guess`], folded (lower case, no accents, no
/// separators), most specific first.
const PHONE_NAMES: &[&str] = &[
    "phone",
    "phonenumber",
    "telephone",
    "numerodetelephone",
    "numerotelephone",
    "ndetelephone",
    "ntelephone",
    "tel",
    "mobile",
    "mobilephone",
    "portable",
    "telportable",
    "cellphone",
    "cell",
    "gsm",
    "msisdn",
    "number",
    "numero",
];
const FIRST_NAME_NAMES: &[&str] = &["firstname", "prenom", "givenname"];
const LAST_NAME_NAMES: &[&str] = &["lastname", "nom", "nomdefamille", "surname", "name"];
const EMAIL_NAMES: &[&str] = &[
    "email",
    "mail",
    "courriel",
    "emailaddress",
    "adressemail",
    "adresseemail",
];
const TIME_ZONE_NAMES: &[&str] = &["timezone", "tz", "fuseau", "fuseauhoraire"];
const EXTERNAL_ID_NAMES: &[&str] = &["externalid", "id", "ref", "reference"];
const PRIORITY_NAMES: &[&str] = &["priority", "priorite", "prio"];

impl ColumnMapping {
    /// Guesses the mapping from header names, ignoring case, accents and separators
    /// (`Téléphone`, `N° de téléphone`, `First Name`, `e-mail`). `None` if no header looks
    /// like a phone column.
    pub fn guess(headers: &[&str]) -> Option<ColumnMapping> {
        let folded: Vec<String> = headers.iter().map(|h| fold(h)).collect();
        let find = |names: &[&str]| {
            names.iter().find_map(|name| {
                folded
                    .iter()
                    .position(|f| f == name)
                    .and_then(|i| headers.get(i))
                    .map(|h| h.trim().to_string())
            })
        };
        Some(ColumnMapping {
            phone: find(PHONE_NAMES)?,
            first_name: find(FIRST_NAME_NAMES),
            last_name: find(LAST_NAME_NAMES),
            email: find(EMAIL_NAMES),
            time_zone: find(TIME_ZONE_NAMES),
            external_id: find(EXTERNAL_ID_NAMES),
            priority: find(PRIORITY_NAMES),
        })
    }
}

/// Lower case, Latin accents removed, only letters and digits kept: `N° de Téléphone` →
/// `ndetelephone`.
fn fold(header: &str) -> String {
    let mut out = String::with_capacity(header.len());
    for c in header.chars().flat_map(char::to_lowercase) {
        match c {
            'à' | 'á' | 'â' | 'ã' | 'ä' | 'å' => out.push('a'),
            'ç' => out.push('c'),
            'è' | 'é' | 'ê' | 'ë' => out.push('e'),
            'ì' | 'í' | 'î' | 'ï' => out.push('i'),
            'ñ' => out.push('n'),
            'ò' | 'ó' | 'ô' | 'õ' | 'ö' => out.push('o'),
            'ù' | 'ú' | 'û' | 'ü' => out.push('u'),
            'ý' | 'ÿ' => out.push('y'),
            'œ' => out.push_str("oe"),
            'æ' => out.push_str("ae"),
            c if c.is_alphanumeric() => out.push(c),
            _ => {}
        }
    }
    out
}

/// How to read a lead file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImportOptions {
    /// The column mapping; `None` guesses it from the header line.
    pub mapping: Option<ColumnMapping>,
    /// The ISO 3166 country national numbers belong to, e.g. `"FR"`.
    pub default_region: String,
    /// The field delimiter; `None` sniffs `,` `;` tab or `|` from the header line. A quote or
    /// a line break is refused.
    pub delimiter: Option<u8>,
}

impl Default for ImportOptions {
    fn default() -> Self {
        ImportOptions {
            mapping: None,
            default_region: "FR".to_string(),
            delimiter: None,
        }
    }
}

/// A problem with the whole file: nothing can be imported from it.
#[derive(Debug, thiserror::Error)]
pub enum ImportError {
    /// The file holds no data at all (blank lines and a byte order mark at most).
    #[error("the file is empty")]
    Empty,
    /// The first line holds a phone number, so the file has no header line.
    #[error(
        "the first line looks like data, not a header: add a first line naming the columns \
         (e.g. phone;first_name;last_name)"
    )]
    NoHeader,
    /// The header line cannot be read.
    #[error("the header line is unreadable: {0}")]
    BadHeader(String),
    /// The mapping names a column the file does not have.
    #[error("the mapping names column {column:?}, which is not in the file (columns: {})", .headers.join(", "))]
    MissingColumn {
        /// The column named in the mapping.
        column: String,
        /// The header names found in the file.
        headers: Vec<String>,
    },
    /// No mapping was given and no header looks like a phone column.
    #[error("no phone column found among the columns {}: name it in the mapping", .headers.join(", "))]
    NoPhoneColumn {
        /// The header names found in the file.
        headers: Vec<String>,
    },
    /// The delimiter given in the options is a quote or a line break.
    #[error("{:?} cannot be a field delimiter", char::from(*.0))]
    BadDelimiter(u8),
    /// The default region is not a country code.
    #[error("default region: {0}")]
    UnknownRegion(PhoneError),
    /// Reading the file failed before the header was read.
    #[error("reading the file: {0}")]
    Io(#[from] io::Error),
}

/// Why one line of the file was not imported.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, thiserror::Error)]
#[error("line {line}: {reason}")]
pub struct LineError {
    /// The 1-based physical line the record starts on (the header is line 1).
    pub line: u64,
    /// What is wrong, in words meant for the person who made the file.
    pub reason: String,
}

/// A lead read from one line, checked and normalised.
#[derive(Debug, Clone, PartialEq)]
pub struct ParsedLead {
    /// The 1-based physical line the record starts on.
    pub line: u64,
    /// The phone number in E.164 form.
    pub phone: String,
    /// The ISO 3166 country of the number, when it has one.
    pub region: Option<String>,
    /// The time zone given in the file; `None` means "use the zones of `region`".
    pub time_zone: Option<Tz>,
    /// First name.
    pub first_name: Option<String>,
    /// Last name.
    pub last_name: Option<String>,
    /// Email address (shape-checked only).
    pub email: Option<String>,
    /// The lead's identifier in the customer's system.
    pub external_id: Option<String>,
    /// Priority from -100 to 100, 0 when the file gives none.
    pub priority: i32,
    /// Every unmapped column with a non-empty value, header name → cell text.
    pub fields: Map<String, Value>,
}

/// What one data line of the file turned out to be.
#[derive(Debug, Clone, PartialEq)]
pub enum Row {
    /// A lead to import.
    Lead(ParsedLead),
    /// A valid line whose number already appeared earlier in this file.
    Duplicate {
        /// The line of this occurrence.
        line: u64,
        /// The number, in E.164 form.
        phone: String,
        /// The line of the first occurrence.
        first_line: u64,
    },
    /// A line that cannot be imported.
    Invalid(LineError),
}

/// Column positions resolved from the mapping and the header line.
#[derive(Debug)]
struct Columns {
    phone: usize,
    first_name: Option<usize>,
    last_name: Option<usize>,
    email: Option<usize>,
    time_zone: Option<usize>,
    external_id: Option<usize>,
    priority: Option<usize>,
    /// Unmapped columns and the key each gets in [`ParsedLead::fields`].
    extra: Vec<(usize, String)>,
}

/// Reads a lead file and yields one [`Row`] per non-blank data line.
pub struct Importer<R: Read> {
    records: Records<R>,
    headers: Vec<String>,
    mapping: ColumnMapping,
    columns: Columns,
    region: Region,
    /// E.164 number → line of its first occurrence.
    seen: HashMap<String, u64>,
    done: bool,
}

impl<R: Read> std::fmt::Debug for Importer<R> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // The source is left out: readers rarely implement `Debug`.
        f.debug_struct("Importer")
            .field("headers", &self.headers)
            .field("mapping", &self.mapping)
            .field("delimiter", &char::from(self.records.delimiter))
            .field("line", &self.records.line)
            .finish_non_exhaustive()
    }
}

impl<R: Read> Importer<R> {
    /// Reads the header line and resolves the column mapping.
    pub fn new(reader: R, options: ImportOptions) -> Result<Importer<R>, ImportError> {
        let region = Region::parse(&options.default_region).map_err(ImportError::UnknownRegion)?;
        if let Some(d @ (b'"' | b'\r' | b'\n')) = options.delimiter {
            return Err(ImportError::BadDelimiter(d));
        }
        let mut records = Records::new(reader, options.delimiter)?;
        let headers = read_header(&mut records)?;
        let mapping = match options.mapping {
            Some(mapping) => mapping,
            None => {
                let names: Vec<&str> = headers.iter().map(String::as_str).collect();
                ColumnMapping::guess(&names).ok_or_else(|| no_phone_column(&headers, region))?
            }
        };
        let columns = resolve(&mapping, &headers)?;
        Ok(Importer {
            records,
            headers,
            mapping,
            columns,
            region,
            seen: HashMap::new(),
            done: false,
        })
    }

    /// The header names, trimmed, in file order.
    pub fn headers(&self) -> &[String] {
        &self.headers
    }

    /// The column mapping in use, given or guessed.
    pub fn mapping(&self) -> &ColumnMapping {
        &self.mapping
    }

    /// The field delimiter in use, given or sniffed.
    pub fn delimiter(&self) -> u8 {
        self.records.delimiter
    }

    /// Turns the record just read into a row; `None` for a blank row.
    fn row(&mut self) -> Option<Row> {
        let record = &self.records.record;
        let line = record.line;
        let invalid = |reason: String| Some(Row::Invalid(LineError { line, reason }));
        if let Some(problem) = record.problem {
            return invalid(problem.to_string());
        }
        if record.fields().all(|f| f.trim_ascii().is_empty()) {
            return None;
        }
        if record.len() != self.headers.len() {
            return invalid(format!(
                "{} fields where the header has {} (check the delimiter and the quotes)",
                record.len(),
                self.headers.len()
            ));
        }
        let text = match std::str::from_utf8(&record.bytes) {
            Ok(text) => text,
            Err(e) => {
                let column = record.field_at(e.valid_up_to());
                let name = column.and_then(|i| self.headers.get(i));
                return invalid(format!(
                    "column {:?} is not valid UTF-8 text (save the file as \"CSV UTF-8\")",
                    name.map_or("?", String::as_str)
                ));
            }
        };
        let cell = |i: usize| record.field_str(text, i).trim();
        let optional = |i: Option<usize>| i.map(cell).filter(|s| !s.is_empty());
        let columns = &self.columns;

        let mut reasons = Vec::new();
        let raw_phone = cell(columns.phone);
        let phone = if raw_phone.is_empty() {
            reasons.push("phone is empty".to_string());
            None
        } else {
            phone::normalize_in(raw_phone, self.region)
                .map_err(|e| reasons.push(format!("phone {raw_phone:?}: {e}")))
                .ok()
        };
        let email = optional(columns.email);
        if let Some(email) = email.filter(|e| !is_email(e)) {
            reasons.push(format!("email {email:?}: not an email address"));
        }
        let time_zone = optional(columns.time_zone).and_then(|tz| {
            let parsed = phone::parse_time_zone(tz);
            if parsed.is_none() {
                reasons.push(format!(
                    "time zone {tz:?}: not an IANA time zone name such as Europe/Paris"
                ));
            }
            parsed
        });
        let priority = match optional(columns.priority) {
            None => 0,
            Some(p) => match p.parse::<i32>() {
                Ok(n) if PRIORITY_RANGE.contains(&n) => n,
                _ => {
                    reasons.push(format!(
                        "priority {p:?}: not a whole number from {} to {}",
                        PRIORITY_RANGE.start(),
                        PRIORITY_RANGE.end()
                    ));
                    0
                }
            },
        };
        let phone = match phone {
            Some(phone) if reasons.is_empty() => phone,
            _ => return invalid(reasons.join("; ")),
        };
        if let Some(&first_line) = self.seen.get(&phone.e164) {
            return Some(Row::Duplicate {
                line,
                phone: phone.e164,
                first_line,
            });
        }
        let fields = columns
            .extra
            .iter()
            .filter_map(|(i, key)| {
                let value = cell(*i);
                (!value.is_empty()).then(|| (key.clone(), Value::String(value.to_string())))
            })
            .collect();
        let lead = ParsedLead {
            line,
            phone: phone.e164,
            region: phone.region,
            time_zone,
            first_name: optional(columns.first_name).map(str::to_string),
            last_name: optional(columns.last_name).map(str::to_string),
            email: email.map(str::to_string),
            external_id: optional(columns.external_id).map(str::to_string),
            priority,
            fields,
        };
        self.seen.insert(lead.phone.clone(), line);
        Some(Row::Lead(lead))
    }
}

impl<R: Read> Iterator for Importer<R> {
    type Item = Row;

    fn next(&mut self) -> Option<Row> {
        while !self.done {
            match self.records.next_record() {
                Ok(true) => {
                    if let Some(row) = self.row() {
                        return Some(row);
                    }
                }
                Ok(false) => self.done = true,
                Err(e) => {
                    self.done = true;
                    return Some(Row::Invalid(LineError {
                        line: self.records.line,
                        reason: format!("reading the file failed here, import stopped: {e}"),
                    }));
                }
            }
        }
        None
    }
}

/// Reads the first non-blank record as the header line.
fn read_header<R: Read>(records: &mut Records<R>) -> Result<Vec<String>, ImportError> {
    loop {
        if !records.next_record()? {
            return Err(ImportError::Empty);
        }
        let record = &records.record;
        if let Some(problem) = record.problem {
            return Err(ImportError::BadHeader(problem.to_string()));
        }
        if record.fields().all(|f| f.trim_ascii().is_empty()) {
            continue;
        }
        let text = std::str::from_utf8(&record.bytes).map_err(|_| {
            ImportError::BadHeader("not valid UTF-8 text (save the file as \"CSV UTF-8\")".into())
        })?;
        return Ok((0..record.len())
            .map(|i| record.field_str(text, i).trim().to_string())
            .collect());
    }
}

/// [`ImportError::NoHeader`] if a header cell is itself a phone number, else
/// [`ImportError::NoPhoneColumn`].
fn no_phone_column(headers: &[String], region: Region) -> ImportError {
    if headers
        .iter()
        .any(|h| phone::normalize_in(h, region).is_ok())
    {
        ImportError::NoHeader
    } else {
        ImportError::NoPhoneColumn {
            headers: headers.to_vec(),
        }
    }
}

/// Finds each mapped column in the header line: exact name first, then ignoring case and
/// accents.
fn resolve(mapping: &ColumnMapping, headers: &[String]) -> Result<Columns, ImportError> {
    let find = |name: &str| {
        let name = name.trim();
        headers
            .iter()
            .position(|h| h == name)
            .or_else(|| {
                let folded = fold(name);
                headers.iter().position(|h| fold(h) == folded)
            })
            .ok_or_else(|| ImportError::MissingColumn {
                column: name.to_string(),
                headers: headers.to_vec(),
            })
    };
    let find_opt = |name: &Option<String>| name.as_deref().map(find).transpose();
    let mut columns = Columns {
        phone: find(&mapping.phone)?,
        first_name: find_opt(&mapping.first_name)?,
        last_name: find_opt(&mapping.last_name)?,
        email: find_opt(&mapping.email)?,
        time_zone: find_opt(&mapping.time_zone)?,
        external_id: find_opt(&mapping.external_id)?,
        priority: find_opt(&mapping.priority)?,
        extra: Vec::new(),
    };
    let mapped = [
        Some(columns.phone),
        columns.first_name,
        columns.last_name,
        columns.email,
        columns.time_zone,
        columns.external_id,
        columns.priority,
    ];
    for (i, header) in headers.iter().enumerate() {
        if mapped.contains(&Some(i)) {
            continue;
        }
        // Keys must be unique for the JSON object: blank or repeated names get the column number.
        let taken = header.is_empty() || columns.extra.iter().any(|(_, k)| k == header);
        let key = if taken {
            format!("column_{}", i + 1)
        } else {
            header.clone()
        };
        columns.extra.push((i, key));
    }
    Ok(columns)
}

/// A cheap shape check: one `@`, something before it, a dotted domain after it, no blanks.
fn is_email(s: &str) -> bool {
    let Some((local, domain)) = s.split_once('@') else {
        return false;
    };
    !local.is_empty()
        && !domain.contains('@')
        && domain.contains('.')
        && !domain.starts_with('.')
        && !domain.ends_with('.')
        && !domain.contains("..")
        && !s.chars().any(char::is_whitespace)
}

/// Why a record could not be read as fields.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub(crate) enum RecordProblem {
    /// One field is longer than [`MAX_FIELD_BYTES`].
    #[error("a field is longer than {} KiB", MAX_FIELD_BYTES / 1024)]
    FieldTooLong,
    /// The record is longer than [`MAX_RECORD_BYTES`].
    #[error("the line is longer than {} MiB", MAX_RECORD_BYTES / (1024 * 1024))]
    RecordTooLong,
    /// The file ends inside a quoted field.
    #[error("a quoted field opened on this line is never closed (missing \")")]
    UnterminatedQuote,
}

/// One record's fields as bytes, stored end to end.
#[derive(Debug, Default)]
pub(crate) struct RawRecord {
    /// The 1-based physical line the record starts on.
    pub(crate) line: u64,
    /// Every field's bytes, unquoted, one after the other.
    bytes: Vec<u8>,
    /// Where each field ends in `bytes`.
    ends: Vec<usize>,
    /// Set when the record was too long or malformed; its fields are then incomplete.
    pub(crate) problem: Option<RecordProblem>,
    /// Raw bytes consumed for this record so far.
    raw_len: usize,
}

impl RawRecord {
    fn clear(&mut self) {
        self.bytes.clear();
        self.ends.clear();
        self.problem = None;
        self.raw_len = 0;
    }

    /// The number of fields.
    pub(crate) fn len(&self) -> usize {
        self.ends.len()
    }

    fn range(&self, i: usize) -> std::ops::Range<usize> {
        let start = if i == 0 {
            0
        } else {
            self.ends.get(i - 1).copied().unwrap_or(0)
        };
        start..self.ends.get(i).copied().unwrap_or(start)
    }

    /// Field `i` as bytes (empty if out of range).
    pub(crate) fn field(&self, i: usize) -> &[u8] {
        self.bytes.get(self.range(i)).unwrap_or_default()
    }

    /// Every field as bytes.
    pub(crate) fn fields(&self) -> impl Iterator<Item = &[u8]> {
        (0..self.len()).map(|i| self.field(i))
    }

    /// Field `i` from `text`, the record's bytes already checked as UTF-8. Fields split at
    /// ASCII delimiters and quotes, so their bounds are character boundaries.
    fn field_str<'t>(&self, text: &'t str, i: usize) -> &'t str {
        text.get(self.range(i)).unwrap_or_default()
    }

    /// The field holding byte `offset` of `bytes`.
    fn field_at(&self, offset: usize) -> Option<usize> {
        self.ends.iter().position(|&end| offset < end)
    }

    /// Appends one byte to the current field, within the limits.
    fn push(&mut self, byte: u8) {
        if self.problem.is_some() {
            return;
        }
        let field_start = self.ends.last().copied().unwrap_or(0);
        if self.bytes.len() - field_start >= MAX_FIELD_BYTES {
            self.problem = Some(RecordProblem::FieldTooLong);
        } else {
            self.bytes.push(byte);
        }
    }

    fn end_field(&mut self) {
        if self.problem.is_none() {
            self.ends.push(self.bytes.len());
        }
    }
}

/// Where the parser is within a record.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    /// At the start of a field.
    FieldStart,
    /// Inside an unquoted field.
    Unquoted,
    /// Inside a quoted field.
    Quoted,
    /// Just after a `"` inside a quoted field: either an escaped quote or the closing one.
    QuoteInQuoted,
}

/// A bounded-memory CSV record reader over any byte source that tracks physical lines.
pub(crate) struct Records<R> {
    source: R,
    buf: Vec<u8>,
    pos: usize,
    len: usize,
    eof: bool,
    failed: bool,
    /// The field delimiter.
    pub(crate) delimiter: u8,
    /// The physical line of the next unread byte.
    pub(crate) line: u64,
    /// Whether the last byte consumed was a CR (a following LF ends the same line).
    after_cr: bool,
    /// The record last read by [`Records::next_record`].
    pub(crate) record: RawRecord,
}

impl<R: Read> Records<R> {
    /// Starts reading `source`, skipping a UTF-8 byte order mark and sniffing the delimiter
    /// from the first line unless one is given.
    pub(crate) fn new(source: R, delimiter: Option<u8>) -> io::Result<Records<R>> {
        let mut records = Records {
            source,
            buf: vec![0; CHUNK],
            pos: 0,
            len: 0,
            eof: false,
            failed: false,
            delimiter: delimiter.unwrap_or(b','),
            line: 1,
            after_cr: false,
            record: RawRecord::default(),
        };
        // Read until the first line is whole (or the buffer is full) to sniff from it.
        while !records.eof
            && records.len < records.buf.len()
            && !records.buffered().contains(&b'\n')
        {
            records.read_more()?;
        }
        if records.buffered().starts_with(b"\xEF\xBB\xBF") {
            records.pos = 3;
        }
        if delimiter.is_none() {
            records.delimiter = sniff(records.buffered());
        }
        Ok(records)
    }

    fn buffered(&self) -> &[u8] {
        self.buf.get(self.pos..self.len).unwrap_or_default()
    }

    /// Appends what the source has to the buffer; sets `eof` at the end of the source.
    fn read_more(&mut self) -> io::Result<()> {
        loop {
            let free = self.buf.get_mut(self.len..).unwrap_or_default();
            match self.source.read(free) {
                Ok(0) => {
                    self.eof = true;
                    return Ok(());
                }
                Ok(n) => {
                    self.len += n;
                    return Ok(());
                }
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(e),
            }
        }
    }

    /// Reads the next record into [`Records::record`]; `Ok(false)` at the end of the input.
    /// After an I/O error every later call returns `Ok(false)`.
    pub(crate) fn next_record(&mut self) -> io::Result<bool> {
        if self.failed {
            return Ok(false);
        }
        let result = self.parse_record();
        if result.is_err() {
            self.failed = true;
        }
        result
    }

    fn parse_record(&mut self) -> io::Result<bool> {
        self.record.clear();
        let mut state = State::FieldStart;
        let mut started = false;
        loop {
            if self.pos == self.len {
                if self.eof {
                    break;
                }
                self.pos = 0;
                self.len = 0;
                self.read_more()?;
                continue;
            }
            let Some(&byte) = self.buf.get(self.pos) else {
                break;
            };
            self.pos += 1;
            let is_break = byte == b'\r' || byte == b'\n';
            if is_break && !(byte == b'\n' && self.after_cr) {
                self.line += 1;
            }
            self.after_cr = byte == b'\r';
            if !started {
                // Blank lines between records are skipped.
                if is_break {
                    continue;
                }
                started = true;
                self.record.line = self.line;
            }
            self.record.raw_len += 1;
            if self.record.raw_len > MAX_RECORD_BYTES && self.record.problem.is_none() {
                self.record.problem = Some(RecordProblem::RecordTooLong);
            }
            match state {
                State::FieldStart | State::Unquoted => {
                    if byte == self.delimiter {
                        self.record.end_field();
                        state = State::FieldStart;
                    } else if is_break {
                        self.record.end_field();
                        return Ok(true);
                    } else if byte == b'"' && state == State::FieldStart {
                        state = State::Quoted;
                    } else {
                        self.record.push(byte);
                        state = State::Unquoted;
                    }
                }
                State::Quoted => {
                    if byte == b'"' {
                        state = State::QuoteInQuoted;
                    } else {
                        self.record.push(byte);
                    }
                }
                State::QuoteInQuoted => {
                    if byte == b'"' {
                        self.record.push(b'"');
                        state = State::Quoted;
                    } else if byte == self.delimiter {
                        self.record.end_field();
                        state = State::FieldStart;
                    } else if is_break {
                        self.record.end_field();
                        return Ok(true);
                    } else {
                        // Text after a closing quote (`"ab"c`) is kept, as most readers do.
                        self.record.push(byte);
                        state = State::Unquoted;
                    }
                }
            }
        }
        if !started {
            return Ok(false);
        }
        if state == State::Quoted && self.record.problem.is_none() {
            self.record.problem = Some(RecordProblem::UnterminatedQuote);
        }
        self.record.end_field();
        Ok(true)
    }
}

/// The candidate delimiter found most often outside quotes on the first line; `,` if none.
fn sniff(buffered: &[u8]) -> u8 {
    let mut counts = [0usize; DELIMITERS.len()];
    let mut quoted = false;
    for &byte in buffered {
        match byte {
            b'"' => quoted = !quoted,
            b'\n' | b'\r' if !quoted => break,
            _ if !quoted => {
                for (count, _) in counts
                    .iter_mut()
                    .zip(DELIMITERS)
                    .filter(|(_, d)| *d == byte)
                {
                    *count += 1;
                }
            }
            _ => {}
        }
    }
    let mut best = (b',', 0);
    for (delimiter, count) in DELIMITERS.into_iter().zip(counts) {
        if count > best.1 {
            best = (delimiter, count);
        }
    }
    best.0
}

#[cfg(test)]
mod tests;
