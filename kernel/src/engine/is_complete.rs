//! Whether a cell is ready to run: a console asks this when the user presses Enter.
//!
//! A lexical scan is enough to answer it well: open delimiters, strings, chars and block
//! comments at the end of input mean "incomplete"; a closer that does not match its opener
//! means "invalid". Type and borrow errors are the compiler's business, not the console's.

/// The answer to an is_complete_request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Completeness {
    Complete,
    /// With the indent the next line should start with.
    Incomplete { indent: String },
    Invalid,
}

pub fn check(code: &str) -> Completeness {
    let chars: Vec<char> = code.chars().collect();
    let mut stack: Vec<char> = Vec::new();
    let mut i = 0;
    let n = chars.len();
    while i < n {
        let c = chars[i];
        match c {
            '/' if chars.get(i + 1) == Some(&'/') => {
                while i < n && chars[i] != '\n' {
                    i += 1;
                }
                continue;
            }
            '/' if chars.get(i + 1) == Some(&'*') => {
                let mut depth = 1;
                i += 2;
                while i < n && depth > 0 {
                    if chars[i] == '/' && chars.get(i + 1) == Some(&'*') {
                        depth += 1;
                        i += 1;
                    } else if chars[i] == '*' && chars.get(i + 1) == Some(&'/') {
                        depth -= 1;
                        i += 1;
                    }
                    i += 1;
                }
                if depth > 0 {
                    return incomplete(&stack);
                }
                continue;
            }
            'r' | 'b' if is_raw_string_start(&chars, i) => {
                // r"..", r#".."#, br#".."#
                let mut j = i + 1;
                if chars[i] == 'b' {
                    j += 1;
                }
                let mut hashes = 0;
                while j < n && chars[j] == '#' {
                    hashes += 1;
                    j += 1;
                }
                j += 1; // opening quote
                loop {
                    if j >= n {
                        return incomplete(&stack);
                    }
                    if chars[j] == '"' && (0..hashes).all(|k| chars.get(j + 1 + k) == Some(&'#')) {
                        i = j + 1 + hashes;
                        break;
                    }
                    j += 1;
                }
                continue;
            }
            '"' => {
                let mut j = i + 1;
                loop {
                    if j >= n {
                        return incomplete(&stack);
                    }
                    match chars[j] {
                        '\\' => j += 2,
                        '"' => break,
                        _ => j += 1,
                    }
                }
                i = j + 1;
                continue;
            }
            '\'' => {
                // A char literal ('a', '\n', '\u{1F600}') or a lifetime ('a).
                if chars.get(i + 1) == Some(&'\\') {
                    let mut j = i + 2;
                    while j < n && chars[j] != '\'' {
                        j += 1;
                    }
                    if j >= n {
                        return incomplete(&stack);
                    }
                    i = j + 1;
                    continue;
                }
                if chars.get(i + 2) == Some(&'\'') {
                    i += 3;
                    continue;
                }
                i += 1;
                continue;
            }
            '(' | '[' | '{' => stack.push(c),
            ')' | ']' | '}' => {
                let want = match c {
                    ')' => '(',
                    ']' => '[',
                    _ => '{',
                };
                if stack.pop() != Some(want) {
                    return Completeness::Invalid;
                }
            }
            _ => {}
        }
        i += 1;
    }
    if stack.is_empty() {
        Completeness::Complete
    } else {
        incomplete(&stack)
    }
}

fn is_raw_string_start(chars: &[char], i: usize) -> bool {
    // Only at the start of a token: `for"` or `bar"` are identifiers followed by a string.
    if i > 0 && (chars[i - 1].is_alphanumeric() || chars[i - 1] == '_') {
        return false;
    }
    let mut j = i + 1;
    if chars[i] == 'b' {
        if chars.get(j) != Some(&'r') {
            return false;
        }
        j += 1;
    }
    while chars.get(j) == Some(&'#') {
        j += 1;
    }
    chars.get(j) == Some(&'"')
}

fn incomplete(stack: &[char]) -> Completeness {
    Completeness::Incomplete { indent: "    ".repeat(stack.len().max(1)) }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn complete_code() {
        for code in ["1 + 1", "fn f() { let v = vec![1, 2]; }", "let s = \"a}b\";", "let c = '}';",
                     "fn f<'a>(x: &'a str) -> &'a str { x }", "// {\nlet x = 1;", "/* ( */ 1",
                     "let r = r#\"a \" ( b\"#;", "let e = '\\'';", "let b = b'{';"] {
            assert_eq!(check(code), Completeness::Complete, "{code}");
        }
    }

    #[test]
    fn incomplete_code_with_indent() {
        assert_eq!(check("fn f() {"), Completeness::Incomplete { indent: "    ".into() });
        assert_eq!(check("fn f() {\n    if x {"), Completeness::Incomplete { indent: "        ".into() });
        for code in ["let s = \"abc", "let v = vec![1,", "/* open", "let r = r#\"x\";"] {
            assert!(matches!(check(code), Completeness::Incomplete { .. }), "{code}");
        }
    }

    #[test]
    fn invalid_code() {
        for code in ["let x = (1];", "}", "fn f() { ) }"] {
            assert_eq!(check(code), Completeness::Invalid, "{code}");
        }
    }
}
