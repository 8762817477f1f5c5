//! Validated input: once parsed, code does not re-check. Messages name the field.

use std::fmt;
use std::str::FromStr;

use navi_text::name_problem;

use crate::StoreError;

/// An email address, trimmed and lowercased (emails compare case-insensitively).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Email(String);

impl Email {
    /// Parses `input` as a bare address (no display name, comments or quoting), ASCII only, at
    /// most 254 characters: a local part of letters, digits, dots and `!#$%&'*+/=?^_`{|}~-`
    /// (no leading, trailing or double dot), `@`, and a domain of at least two labels of letters,
    /// digits and hyphens. Anything a mailer could read as more than one address, or as a name
    /// around an address, is refused: the address is who gets the mail and who the user is.
    pub fn parse(input: &str) -> Result<Email, StoreError> {
        let email = input.trim().to_ascii_lowercase();
        let atext = |c: char| c.is_ascii_alphanumeric() || "!#$%&'*+/=?^_`{|}~-".contains(c);
        let label = |label: &str| {
            !label.is_empty()
                && label.len() <= 63
                && !label.starts_with('-')
                && !label.ends_with('-')
                && label.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
        };
        let valid = email.len() <= 254
            && match email.split_once('@') {
                Some((local, domain)) => {
                    !local.is_empty()
                        && local.len() <= 64
                        && local
                            .split('.')
                            .all(|part| !part.is_empty() && part.chars().all(atext))
                        && domain.contains('.')
                        && domain.split('.').all(label)
                }
                None => false,
            };
        if valid {
            Ok(Email(email))
        } else {
            Err(StoreError::Invalid(
                "email: not a valid email address (a bare ASCII address such as ada@example.com)"
                    .to_owned(),
            ))
        }
    }

    /// The normalised address.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The part after the `@` (lowercased, like the whole address).
    pub fn domain(&self) -> &str {
        self.0.split_once('@').map_or("", |(_, domain)| domain)
    }
}

/// An org slug: 3–80 characters of `[a-z0-9-]`.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Slug(String);

impl Slug {
    /// Parses an explicit slug.
    pub fn parse(input: &str) -> Result<Slug, StoreError> {
        let valid = (3..=80).contains(&input.len())
            && input
                .chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-');
        if valid {
            Ok(Slug(input.to_owned()))
        } else {
            Err(StoreError::Invalid(
                "slug: 3 to 80 characters of a-z, 0-9 and -".to_owned(),
            ))
        }
    }

    /// Derives a slug from an org name: lowercase ASCII letters and digits, other runs become
    /// one `-`; padded to 3 characters with `-org` when shorter.
    pub fn derive(name: &OrgName) -> Slug {
        let mut slug = String::new();
        for c in name.as_str().chars() {
            if c.is_ascii_alphanumeric() {
                slug.push(c.to_ascii_lowercase());
            } else if !slug.is_empty() && !slug.ends_with('-') {
                slug.push('-');
            }
        }
        let mut slug = slug.trim_end_matches('-').to_owned();
        slug.truncate(72);
        let slug = slug.trim_end_matches('-').to_owned();
        if slug.len() < 3 {
            Slug(if slug.is_empty() {
                "org".to_owned()
            } else {
                format!("{slug}-org")
            })
        } else {
            Slug(slug)
        }
    }

    /// The slug with a random suffix, for a derived slug that is taken.
    pub(crate) fn with_suffix(&self, suffix: &str) -> Slug {
        Slug(format!("{}-{suffix}", self.0))
    }

    /// The slug.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// `input` trimmed, when it is a valid name (see [`navi_text::name_problem`]); else `Invalid`
/// naming `field`.
pub fn display_name<'a>(
    field: &str,
    input: &'a str,
    max_chars: usize,
) -> Result<&'a str, StoreError> {
    match name_problem(input, max_chars) {
        None => Ok(input.trim()),
        Some(why) => Err(StoreError::Invalid(format!("{field}: {why}"))),
    }
}

/// An org name: a [display name](display_name) of 1–80 characters after trimming.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OrgName(String);

impl OrgName {
    /// Parses `input`.
    pub fn parse(input: &str) -> Result<OrgName, StoreError> {
        Ok(OrgName(display_name("name", input, 80)?.to_owned()))
    }

    /// The name.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// A member's role in one org: `owner` > `admin` > `member`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Role {
    /// May read and use the org's resources.
    Member,
    /// Also manages members, invites, keys and configuration.
    Admin,
    /// Also changes roles; an org always keeps at least one.
    Owner,
}

impl Role {
    /// The stored and wire name.
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Owner => "owner",
            Role::Admin => "admin",
            Role::Member => "member",
        }
    }
}

impl FromStr for Role {
    type Err = StoreError;

    fn from_str(input: &str) -> Result<Role, StoreError> {
        match input {
            "owner" => Ok(Role::Owner),
            "admin" => Ok(Role::Admin),
            "member" => Ok(Role::Member),
            _ => Err(StoreError::Invalid(
                "role: one of owner, admin, member".to_owned(),
            )),
        }
    }
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn emails_are_normalised_and_checked() {
        assert_eq!(
            Email::parse("  Ada@Example.COM ").unwrap().as_str(),
            "ada@example.com"
        );
        for bad in [
            "",
            "ada",
            "ada@",
            "@example.com",
            "a b@example.com",
            "a@b@c.com",
            "a@example",
            "a@.com",
            "Name<victim@example.com>",
            "victim@example.com>",
            "\"a\"@example.com",
            "a,b@example.com",
            "a..b@example.com",
            ".a@example.com",
            "тест@пример.рф",
            "İ@example.com",
            "a@b.c\u{200b}",
            "a@-b.com",
        ] {
            assert!(Email::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn slugs_are_checked_and_derived() {
        assert!(Slug::parse("acme-2").is_ok());
        for bad in ["ab", "Acme", "acme_x", "a".repeat(81).as_str(), "acmé"] {
            assert!(Slug::parse(bad).is_err(), "{bad}");
        }
        let derive = |name: &str| Slug::derive(&OrgName::parse(name).unwrap()).0;
        assert_eq!(derive("Acme Corp, Inc."), "acme-corp-inc");
        assert_eq!(derive("  Ünïcode  Org "), "n-code-org");
        assert_eq!(derive("X"), "x-org");
        assert_eq!(derive("日本"), "org");
        assert!(Slug::parse(&derive(&"long name ".repeat(8))).is_ok());
    }

    #[test]
    fn names_refuse_invisible_and_direction_changing_characters() {
        for deceptive in [
            '\u{061C}',
            '\u{200E}',
            '\u{200F}',
            '\u{202A}',
            '\u{202E}',
            '\u{2066}',
            '\u{2069}',
            '\u{00AD}',
            '\u{200B}',
            '\u{2060}',
            '\u{2064}',
            '\u{FEFF}',
            '\u{E0000}',
            '\u{E0041}',
            '\u{E007F}',
            '\u{034F}',
            '\u{115F}',
            '\u{1160}',
            '\u{3164}',
            '\u{FFA0}',
            '\u{180E}',
            '\u{206A}',
            '\u{206F}',
            '\u{FFF9}',
            '\u{FFFB}',
            '\u{2800}',
            '\u{2028}',
            '\u{2029}',
        ] {
            let name = format!("pay{deceptive}pal");
            let error = display_name("name", &name, 100).unwrap_err().to_string();
            assert!(
                error.contains("name: no invisible or direction-changing characters (U+"),
                "{error}"
            );
            assert!(OrgName::parse(&name).is_err());
        }
        // ZWNJ in Persian, ZWJ in an emoji sequence, and the neighbours of refused ranges stay.
        for kept in [
            "می\u{200C}خواهم",
            "👩\u{200D}💻",
            "a\u{2065}b",
            "a\u{E0080}b",
            "x\u{2070}",
            "\u{2764}\u{FE0F} team",
            "\u{845B}\u{E0100}",
        ] {
            assert_eq!(display_name("name", kept, 100).unwrap(), kept);
        }
        assert_eq!(display_name("name", "  acme ", 100).unwrap(), "acme");
        assert!(display_name("model", " ", 100)
            .unwrap_err()
            .to_string()
            .contains("model: 1 to 100"));
    }

    #[test]
    fn roles_order_and_parse() {
        assert!(Role::Owner > Role::Admin && Role::Admin > Role::Member);
        assert_eq!("admin".parse::<Role>().unwrap(), Role::Admin);
        assert!("Admin".parse::<Role>().is_err());
    }
}
