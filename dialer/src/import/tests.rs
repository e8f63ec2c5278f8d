//! Tests of the `import` module.

use super::*;

fn import(text: &str) -> Vec<Row> {
    import_bytes(text.as_bytes())
}

fn import_bytes(bytes: &[u8]) -> Vec<Row> {
    Importer::new(bytes, ImportOptions::default())
        .unwrap()
        .collect()
}

fn lead(row: &Row) -> &ParsedLead {
    match row {
        Row::Lead(lead) => lead,
        other => panic!("expected a lead, got {other:?}"),
    }
}

fn invalid(line: u64, reason: &str) -> Row {
    Row::Invalid(LineError {
        line,
        reason: reason.to_string(),
    })
}

/// A reader that hands out at most `step` bytes per call, to cross every buffer boundary.
struct Trickle<'a> {
    data: &'a [u8],
    step: usize,
}

impl Read for Trickle<'_> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.step.min(buf.len()).min(self.data.len());
        buf[..n].copy_from_slice(&self.data[..n]);
        self.data = &self.data[n..];
        Ok(n)
    }
}

/// A reader that fails after its data.
struct FailingAfter<'a>(&'a [u8]);

impl Read for FailingAfter<'_> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if self.0.is_empty() {
            return Err(io::Error::other("disk on fire"));
        }
        let n = buf.len().min(self.0.len());
        buf[..n].copy_from_slice(&self.0[..n]);
        self.0 = &self.0[n..];
        Ok(n)
    }
}

#[test]
fn guesses_french_headers_ignoring_case_and_accents() {
    let headers = [
        "Téléphone",
        "PRÉNOM",
        "Nom",
        "E-mail",
        "Fuseau",
        "Réf",
        "Priorité",
        "Ville",
    ];
    let mapping = ColumnMapping::guess(&headers).unwrap();
    assert_eq!(
        mapping,
        ColumnMapping {
            phone: "Téléphone".into(),
            first_name: Some("PRÉNOM".into()),
            last_name: Some("Nom".into()),
            email: Some("E-mail".into()),
            time_zone: Some("Fuseau".into()),
            external_id: Some("Réf".into()),
            priority: Some("Priorité".into()),
        }
    );
    let english = ColumnMapping::guess(&["ID", "First Name", "last_name", "Mobile", "TZ"]).unwrap();
    assert_eq!(english.phone, "Mobile");
    assert_eq!(english.first_name.as_deref(), Some("First Name"));
    assert_eq!(english.external_id.as_deref(), Some("ID"));
    assert_eq!(english.time_zone.as_deref(), Some("TZ"));
    assert_eq!(english.email, None);
    assert_eq!(
        ColumnMapping::guess(&["N° de téléphone"]).unwrap().phone,
        "N° de téléphone"
    );
    assert_eq!(ColumnMapping::guess(&["a", "b"]), None);
}

#[test]
fn mapping_json_rejects_unknown_keys() {
    let ok: ColumnMapping =
        serde_json::from_str(r#"{"phone":"Tel","first_name":"Prénom"}"#).unwrap();
    assert_eq!(ok.first_name.as_deref(), Some("Prénom"));
    assert!(serde_json::from_str::<ColumnMapping>(r#"{"phone":"Tel","fone":"x"}"#).is_err());
}

#[test]
fn sniffs_semicolon_and_comma() {
    let semi = "Téléphone;Prénom;Note\n06 12 34 56 78;Anne;\"a, b, c\"\n";
    let importer = Importer::new(semi.as_bytes(), ImportOptions::default()).unwrap();
    assert_eq!(importer.delimiter(), b';');
    let rows: Vec<Row> = importer.collect();
    assert_eq!(lead(&rows[0]).first_name.as_deref(), Some("Anne"));
    assert_eq!(lead(&rows[0]).fields["Note"], "a, b, c");

    let comma = "phone,name,\"note; with semicolons; many\"\n0612345678,Martin,x\n";
    let importer = Importer::new(comma.as_bytes(), ImportOptions::default()).unwrap();
    assert_eq!(importer.delimiter(), b',');
    assert_eq!(
        importer.headers(),
        ["phone", "name", "note; with semicolons; many"]
    );

    let tab = "phone\tname\n0612345678\tMartin\n";
    let importer = Importer::new(tab.as_bytes(), ImportOptions::default()).unwrap();
    assert_eq!(importer.delimiter(), b'\t');
}

#[test]
fn bom_crlf_and_blank_lines() {
    let file =
        "\u{feff}phone;first_name\r\n\r\n06 12 34 56 78;Anne\r\n;\r\n  \r\n0698765432;Bob\r\n";
    let rows = import(file);
    assert_eq!(rows.len(), 2);
    assert_eq!(lead(&rows[0]).line, 3);
    assert_eq!(lead(&rows[0]).phone, "+33612345678");
    assert_eq!(lead(&rows[0]).region.as_deref(), Some("FR"));
    assert_eq!(lead(&rows[1]).line, 6);
    assert_eq!(lead(&rows[1]).first_name.as_deref(), Some("Bob"));
}

#[test]
fn multi_line_quoted_field_keeps_line_numbers() {
    let file = "phone,first_name,note\n\
                0612345678,Anne,\"one\n\
                two\r\n\
                three\"\n\
                12,Bob,x\n\
                0698765432,\"Claire \"\"CC\"\"\",y\n";
    let rows = import(file);
    assert_eq!(lead(&rows[0]).line, 2);
    assert_eq!(lead(&rows[0]).fields["note"], "one\ntwo\r\nthree");
    assert_eq!(
        rows[1],
        invalid(5, "phone \"12\": not a valid number for FR")
    );
    assert_eq!(lead(&rows[2]).line, 6);
    assert_eq!(lead(&rows[2]).first_name.as_deref(), Some("Claire \"CC\""));
}

#[test]
fn ragged_rows_are_reported_and_skipped() {
    let file = "phone;first_name;last_name\n0612345678;Anne\n0698765432;Bob;Martin;extra\n0611111111;Claire;Durand\n";
    let rows = import(file);
    assert_eq!(
        rows[0],
        invalid(
            2,
            "2 fields where the header has 3 (check the delimiter and the quotes)"
        )
    );
    assert_eq!(
        rows[1],
        invalid(
            3,
            "4 fields where the header has 3 (check the delimiter and the quotes)"
        )
    );
    assert_eq!(lead(&rows[2]).line, 4);
    assert_eq!(rows.len(), 3);
}

#[test]
fn invalid_utf8_costs_one_line() {
    let file = b"phone;first_name\n0612345678;H\xe9l\xe8ne\n0698765432;H\xc3\xa9l\xc3\xa8ne\n";
    let rows = import_bytes(file);
    assert_eq!(
        rows[0],
        invalid(
            2,
            "column \"first_name\" is not valid UTF-8 text (save the file as \"CSV UTF-8\")"
        )
    );
    assert_eq!(lead(&rows[1]).first_name.as_deref(), Some("Hélène"));
}

#[test]
fn duplicates_in_the_file() {
    let file = "phone\n06 12 34 56 78\n+33612345678\n0698765432\n0033 6 12 34 56 78\n";
    let rows = import(file);
    assert_eq!(rows.len(), 4);
    assert_eq!(
        rows[1],
        Row::Duplicate {
            line: 3,
            phone: "+33612345678".into(),
            first_line: 2
        }
    );
    assert_eq!(
        rows[3],
        Row::Duplicate {
            line: 5,
            phone: "+33612345678".into(),
            first_line: 2
        }
    );
}

#[test]
fn unmapped_columns_go_to_fields() {
    let file = "phone;Ville;Code postal;;Ville\n0612345678;Lyon;;x;Paris\n";
    let rows = import(file);
    let fields = &lead(&rows[0]).fields;
    assert_eq!(fields.len(), 3);
    assert_eq!(fields["Ville"], "Lyon");
    assert!(!fields.contains_key("Code postal"));
    assert_eq!(fields["column_4"], "x");
    assert_eq!(fields["column_5"], "Paris");
}

#[test]
fn every_attribute_is_checked() {
    let file = "phone;email;tz;priority;external_id\n\
                0612345678;anne@example.fr;Europe/Paris;5;A-1\n\
                0698765432;;;;\n\
                0611111111;anne@;Paris;500;\n\
                0622222222;a b@example.fr;;-100;\n\
                0633333333;a@example;;x;\n";
    let rows = import(file);
    let anne = lead(&rows[0]);
    assert_eq!(anne.email.as_deref(), Some("anne@example.fr"));
    assert_eq!(anne.time_zone, Some(chrono_tz::Europe::Paris));
    assert_eq!(anne.priority, 5);
    assert_eq!(anne.external_id.as_deref(), Some("A-1"));
    let bare = lead(&rows[1]);
    assert_eq!(
        (bare.email.as_ref(), bare.time_zone, bare.priority),
        (None, None, 0)
    );
    assert_eq!(
        rows[2],
        invalid(
            4,
            "email \"anne@\": not an email address; \
             time zone \"Paris\": not an IANA time zone name such as Europe/Paris; \
             priority \"500\": not a whole number from -100 to 100"
        )
    );
    assert_eq!(
        rows[3],
        invalid(5, "email \"a b@example.fr\": not an email address")
    );
    assert_eq!(
        rows[4],
        invalid(
            6,
            "email \"a@example\": not an email address; \
             priority \"x\": not a whole number from -100 to 100"
        )
    );
    assert_eq!(
        import("phone;name\n;Martin\n")[0],
        invalid(2, "phone is empty")
    );
}

#[test]
fn explicit_mapping_and_whole_file_errors() {
    let file = "Numéro;Client\n0612345678;Martin\n";
    let options = |phone: &str| ImportOptions {
        mapping: Some(ColumnMapping {
            phone: phone.into(),
            first_name: None,
            last_name: Some("Client".into()),
            email: None,
            time_zone: None,
            external_id: None,
            priority: None,
        }),
        ..ImportOptions::default()
    };
    let rows: Vec<Row> = Importer::new(file.as_bytes(), options("numero"))
        .unwrap()
        .collect();
    assert_eq!(lead(&rows[0]).last_name.as_deref(), Some("Martin"));

    let err = Importer::new(file.as_bytes(), options("Mobile")).unwrap_err();
    assert_eq!(
        err.to_string(),
        "the mapping names column \"Mobile\", which is not in the file (columns: Numéro, Client)"
    );
    let err = Importer::new(
        "Nom;Ville\nMartin;Lyon\n".as_bytes(),
        ImportOptions::default(),
    )
    .unwrap_err();
    assert!(matches!(&err, ImportError::NoPhoneColumn { headers } if headers == &["Nom", "Ville"]));
    let err =
        Importer::new("0612345678;Martin\n".as_bytes(), ImportOptions::default()).unwrap_err();
    assert!(matches!(err, ImportError::NoHeader), "{err}");
    for empty in ["", "\u{feff}", "\n\r\n", ";;\n"] {
        let err = Importer::new(empty.as_bytes(), ImportOptions::default()).unwrap_err();
        assert!(matches!(err, ImportError::Empty), "{empty:?}: {err}");
    }
    let err = Importer::new(
        "phone\n".as_bytes(),
        ImportOptions {
            default_region: "France".into(),
            ..ImportOptions::default()
        },
    )
    .unwrap_err();
    assert!(matches!(err, ImportError::UnknownRegion(_)));
    let err = Importer::new(
        "phone\n".as_bytes(),
        ImportOptions {
            delimiter: Some(b'"'),
            ..ImportOptions::default()
        },
    )
    .unwrap_err();
    assert_eq!(err.to_string(), "'\"' cannot be a field delimiter");
    assert!(matches!(
        Importer::new(FailingAfter(b""), ImportOptions::default()).unwrap_err(),
        ImportError::Io(_)
    ));
}

#[test]
fn oversized_fields_cost_their_line_only() {
    let mut file = String::from("phone;note\n0612345678;");
    file.push_str(&"x".repeat(MAX_FIELD_BYTES + 1));
    file.push_str("\n0698765432;ok\n");
    let rows = import(&file);
    assert_eq!(rows[0], invalid(2, "a field is longer than 64 KiB"));
    assert_eq!(lead(&rows[1]).line, 3);

    let mut file = String::from("phone;note\n0612345678;\"");
    for _ in 0..20 {
        file.push_str(&"y".repeat(60 * 1024));
        file.push_str("\",\"");
    }
    file.push_str("\"\n0698765432;ok\n");
    let file = file.replace(',', ";");
    let rows = import(&file);
    assert_eq!(rows[0], invalid(2, "the line is longer than 1 MiB"));
    assert_eq!(lead(&rows[1]).line, 3);
}

#[test]
fn unterminated_quote_is_reported() {
    let rows = import("phone;note\n0612345678;ok\n0698765432;\"never closed\n0611111111;x\n");
    assert_eq!(lead(&rows[0]).line, 2);
    assert_eq!(
        rows[1],
        invalid(
            3,
            "a quoted field opened on this line is never closed (missing \")"
        )
    );
    assert_eq!(rows.len(), 2);
}

#[test]
fn io_error_mid_file_ends_with_a_row() {
    let importer = Importer::new(
        FailingAfter(b"phone\n0612345678\n0698765432\n"),
        ImportOptions::default(),
    )
    .unwrap();
    let rows: Vec<Row> = importer.collect();
    assert_eq!(rows.len(), 3);
    assert_eq!(lead(&rows[1]).line, 3);
    let Row::Invalid(error) = &rows[2] else {
        panic!("{:?}", rows[2]);
    };
    assert_eq!(error.line, 4);
    assert!(error.reason.contains("disk on fire"), "{}", error.reason);
}

#[test]
fn chunk_boundaries_do_not_matter() {
    let file = "\u{feff}phone;first_name;note\r\n0612345678;Anne;\"a\r\nb\"\r\n\r\n0698765432;H\u{e9}l\u{e8}ne;\"\"\"q\"\"\"\r\n12;x;y\r\n";
    let whole = import(file);
    assert_eq!(whole.len(), 3);
    for step in [1, 2, 3, 5, 7] {
        let importer = Importer::new(
            Trickle {
                data: file.as_bytes(),
                step,
            },
            ImportOptions::default(),
        )
        .unwrap();
        assert_eq!(importer.collect::<Vec<_>>(), whole, "step {step}");
    }
}

/// 100,000 rows, exactly 1 % of them bad in four different ways, and a multi-line note
/// every 1,000 rows so that line numbers drift from record numbers.
#[test]
fn hundred_thousand_rows_with_one_percent_bad() {
    let mut file = b"phone;first_name;last_name;email;note\n".to_vec();
    let mut line = 2u64;
    let mut good_lines = Vec::new();
    let mut bad_lines = Vec::new();
    for i in 0..100_000u32 {
        let start = line;
        let phone = format!("061{i:07}");
        let note = if i % 1000 == 500 {
            line += 1;
            "\"two\nlines\"".to_string()
        } else {
            format!("n{i}")
        };
        let row: Vec<u8> = if i % 100 == 7 {
            bad_lines.push(start);
            match (i / 100) % 4 {
                0 => format!("12;First;Last;a@b.fr;{note}\n").into_bytes(),
                1 => format!("{phone};First;Last;{note}\n").into_bytes(),
                2 => format!("{phone};First;Last;not-an-email;{note}\n").into_bytes(),
                _ => [
                    format!("{phone};").as_bytes(),
                    b"Fran\xe7ois",
                    format!(";Last;a@b.fr;{note}\n").as_bytes(),
                ]
                .concat(),
            }
        } else {
            good_lines.push(start);
            format!("{phone};First{i};Last;first{i}@example.com;{note}\n").into_bytes()
        };
        file.extend_from_slice(&row);
        line += 1;
    }
    let started = std::time::Instant::now();
    let rows: Vec<Row> = Importer::new(&file[..], ImportOptions::default())
        .unwrap()
        .collect();
    eprintln!("100k rows imported in {:?}", started.elapsed());

    let mut leads = Vec::new();
    let mut errors = Vec::new();
    for row in rows {
        match row {
            Row::Lead(lead) => leads.push(lead.line),
            Row::Invalid(error) => errors.push(error.line),
            Row::Duplicate { line, .. } => panic!("unexpected duplicate on line {line}"),
        }
    }
    assert_eq!(leads.len(), 99_000);
    assert_eq!(leads, good_lines);
    assert_eq!(errors, bad_lines);
}
