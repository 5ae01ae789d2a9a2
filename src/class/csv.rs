//! The class's CSV, for a learning management system: one row per student.

use super::StudentResult;

/// The CSV (RFC 4180): a header `student,score,max_score` then one column per behaviour
/// (the points earned), and one row per student.
pub fn class_csv(results: &[StudentResult]) -> String {
    let behaviours: Vec<&str> = results
        .first()
        .map(|r| {
            r.behaviours
                .iter()
                .map(|(name, _, _)| name.as_str())
                .collect()
        })
        .unwrap_or_default();
    let mut header = vec!["student", "score", "max_score"];
    header.extend(behaviours);
    let mut out = row(header.into_iter().map(String::from));
    for result in results {
        let mut cells = vec![
            result.student.clone(),
            result.score.to_string(),
            result.max_score.to_string(),
        ];
        cells.extend(
            result
                .behaviours
                .iter()
                .map(|(_, earned, _)| earned.to_string()),
        );
        out += &row(cells.into_iter());
    }
    out
}

/// One line of cells; a cell with a comma, a quote or a line break is quoted, its quotes
/// doubled (RFC 4180, section 2).
fn row(cells: impl Iterator<Item = String>) -> String {
    let cells: Vec<String> = cells
        .map(|cell| match cell.contains([',', '"', '\n', '\r']) {
            true => format!("\"{}\"", cell.replace('"', "\"\"")),
            false => cell,
        })
        .collect();
    cells.join(",") + "\r\n"
}

#[cfg(test)]
mod tests {
    use super::*;

    fn result(student: &str, earned: &[u32]) -> StudentResult {
        let behaviours: Vec<(String, u32, u32)> = ["ex01_a", "ex01_b"]
            .iter()
            .zip(earned)
            .zip([3, 2])
            .map(|((name, earned), max)| (name.to_string(), *earned, max))
            .collect();
        StudentResult {
            student: student.into(),
            score: earned.iter().sum(),
            max_score: 5,
            behaviours,
            problem: None,
            took: std::time::Duration::ZERO,
        }
    }

    #[test]
    fn the_csv_has_a_row_per_student_and_a_column_per_behaviour() {
        let csv = class_csv(&[result("ada", &[3, 2]), result("lee, \"bo\"", &[0, 2])]);
        assert_eq!(
            csv,
            "student,score,max_score,ex01_a,ex01_b\r\n\
             ada,5,5,3,2\r\n\
             \"lee, \"\"bo\"\"\",2,5,0,2\r\n"
        );
    }

    #[test]
    fn an_empty_class_has_the_header_alone() {
        assert_eq!(class_csv(&[]), "student,score,max_score\r\n");
    }
}
