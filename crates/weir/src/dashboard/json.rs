//! The `/graph.json` document (also each `/events` update), written by
//! hand: a handful of numbers and strings needs no serializer.

use std::fmt::Write;

/// A JSON text being written: objects and arrays are opened and closed by
/// the caller, commas are put in here.
#[derive(Default)]
pub(crate) struct Json {
    out: String,
    /// Whether the next value in the open object or array needs a comma.
    comma: bool,
}

impl Json {
    pub(crate) fn with_capacity(n: usize) -> Json {
        Json {
            out: String::with_capacity(n),
            comma: false,
        }
    }

    fn sep(&mut self) {
        if self.comma {
            self.out.push(',');
        }
        self.comma = true;
    }

    /// `"key":` inside an object.
    pub(crate) fn key(&mut self, key: &str) -> &mut Json {
        self.sep();
        string(&mut self.out, key);
        self.out.push(':');
        self.comma = false;
        self
    }

    pub(crate) fn open(&mut self, bracket: char) -> &mut Json {
        self.sep();
        self.out.push(bracket);
        self.comma = false;
        self
    }

    pub(crate) fn close(&mut self, bracket: char) -> &mut Json {
        self.out.push(bracket);
        self.comma = true;
        self
    }

    pub(crate) fn str(&mut self, s: &str) -> &mut Json {
        self.sep();
        string(&mut self.out, s);
        self
    }

    pub(crate) fn opt_str(&mut self, s: Option<&str>) -> &mut Json {
        match s {
            Some(s) => self.str(s),
            None => self.null(),
        }
    }

    pub(crate) fn u64(&mut self, n: u64) -> &mut Json {
        self.sep();
        let _ = write!(self.out, "{n}");
        self
    }

    pub(crate) fn opt_u64(&mut self, n: Option<u64>) -> &mut Json {
        match n {
            Some(n) => self.u64(n),
            None => self.null(),
        }
    }

    /// A number with one decimal (JSON has no NaN or infinity: those are 0).
    pub(crate) fn f64(&mut self, x: f64) -> &mut Json {
        self.sep();
        let x = if x.is_finite() { x } else { 0.0 };
        let _ = write!(self.out, "{x:.1}");
        self
    }

    /// A value already written as JSON (by another [`Json`]).
    pub(crate) fn raw(&mut self, json: &str) -> &mut Json {
        self.sep();
        self.out.push_str(json);
        self
    }

    pub(crate) fn bool(&mut self, b: bool) -> &mut Json {
        self.sep();
        self.out.push_str(if b { "true" } else { "false" });
        self
    }

    pub(crate) fn null(&mut self) -> &mut Json {
        self.sep();
        self.out.push_str("null");
        self
    }

    pub(crate) fn finish(self) -> String {
        self.out
    }
}

/// `s` as a JSON string. `<`, `>` and `&` are escaped too, so the text is
/// inert even if someone pastes it into HTML.
fn string(out: &mut String, s: &str) {
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '<' | '>' | '&' | '\u{2028}' | '\u{2029}' => {
                let _ = write!(out, "\\u{:04x}", c as u32);
            }
            c if (c as u32) < 0x20 => {
                let _ = write!(out, "\\u{:04x}", c as u32);
            }
            c => out.push(c),
        }
    }
    out.push('"');
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn strings_are_escaped_and_commas_placed() {
        let mut j = Json::default();
        j.open('{');
        j.key("name").str("<script>alert(\"1\")</script>\n");
        j.key("list")
            .open('[')
            .u64(1)
            .f64(2.5)
            .null()
            .bool(true)
            .close(']');
        j.key("nan").f64(f64::NAN);
        j.key("raw").raw("[1.5]");
        j.close('}');
        assert_eq!(
            j.finish(),
            r#"{"name":"\u003cscript\u003ealert(\"1\")\u003c/script\u003e\n","list":[1,2.5,null,true],"nan":0.0,"raw":[1.5]}"#
        );
    }
}
