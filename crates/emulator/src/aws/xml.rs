//! The two halves of the AWS query protocol the emulated RDS needs: reading a form-encoded
//! request into its parameters, and writing XML answers.

use std::collections::BTreeMap;

/// The parameters of a query-protocol request (`Action=…&Tags.Tag.1.Key=…`), by name. A name
/// given twice keeps its last value, as the real services do.
pub(crate) fn parse_form(body: &[u8]) -> BTreeMap<String, String> {
    form_urlencoded::parse(body).into_owned().collect()
}

/// The members of a list parameter in document order: for `prefix` `Tags.Tag`, the values of
/// `Tags.Tag.1`, `Tags.Tag.2`, … as maps of their sub-fields (`Key`, `Value`), or, for a list of
/// scalars, a map with the single key `""`.
pub(crate) fn list_members(
    params: &BTreeMap<String, String>,
    prefix: &str,
) -> Vec<BTreeMap<String, String>> {
    let mut by_index: BTreeMap<u32, BTreeMap<String, String>> = BTreeMap::new();
    let start = format!("{prefix}.");
    for (name, value) in params {
        let Some(rest) = name.strip_prefix(&start) else {
            continue;
        };
        let (index, field) = rest.split_once('.').unwrap_or((rest, ""));
        if let Ok(index) = index.parse::<u32>() {
            by_index
                .entry(index)
                .or_default()
                .insert(field.to_string(), value.clone());
        }
    }
    by_index.into_values().collect()
}

/// Escapes text for an XML element.
pub(crate) fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            c => out.push(c),
        }
    }
    out
}

/// Builds an XML document element by element.
#[derive(Debug, Default)]
pub(crate) struct Xml(String);

impl Xml {
    pub fn new() -> Xml {
        Xml(String::from(r#"<?xml version="1.0" encoding="UTF-8"?>"#))
    }

    pub fn open(&mut self, name: &str) -> &mut Xml {
        self.0.push('<');
        self.0.push_str(name);
        self.0.push('>');
        self
    }

    /// Opens the root element with its namespace.
    pub fn open_ns(&mut self, name: &str, namespace: &str) -> &mut Xml {
        self.0
            .push_str(&format!("<{name} xmlns=\"{}\">", escape(namespace)));
        self
    }

    pub fn close(&mut self, name: &str) -> &mut Xml {
        self.0.push_str("</");
        self.0.push_str(name);
        self.0.push('>');
        self
    }

    /// `<name>text</name>`.
    pub fn text(&mut self, name: &str, text: impl std::fmt::Display) -> &mut Xml {
        let text = escape(&text.to_string());
        self.0.push_str(&format!("<{name}>{text}</{name}>"));
        self
    }

    pub fn finish(&mut self) -> String {
        std::mem::take(&mut self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn forms_decode_with_nested_list_members_in_order() {
        let params = parse_form(
            b"Action=CreateDBInstance&Tags.Tag.2.Key=b&Tags.Tag.1.Key=a&Tags.Tag.1.Value=x%20y\
              &VpcSecurityGroupIds.VpcSecurityGroupId.1=sg-1&Tags.Tag.2.Value=",
        );
        assert_eq!(params["Action"], "CreateDBInstance");
        let tags = list_members(&params, "Tags.Tag");
        assert_eq!(tags.len(), 2);
        assert_eq!(tags[0]["Key"], "a");
        assert_eq!(tags[0]["Value"], "x y");
        assert_eq!(tags[1]["Key"], "b");
        let groups = list_members(&params, "VpcSecurityGroupIds.VpcSecurityGroupId");
        assert_eq!(groups[0][""], "sg-1");
    }

    #[test]
    fn xml_text_is_escaped() {
        let mut x = Xml::new();
        x.open_ns("R", "urn:x")
            .text("Message", "a<b & \"c\"")
            .close("R");
        let doc = x.finish();
        assert!(
            doc.ends_with("<R xmlns=\"urn:x\"><Message>a&lt;b &amp; &quot;c&quot;</Message></R>")
        );
    }
}
