//! Validated input: once parsed, code does not re-check. Messages name the field.

use std::fmt;
use std::str::FromStr;

use crate::StoreError;

/// An email address, trimmed and lowercased (emails compare case-insensitively).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Email(String);

impl Email {
    /// Parses `input`: one `@`, a non-empty local part, a dotted domain, no spaces, ≤ 320 chars.
    pub fn parse(input: &str) -> Result<Email, StoreError> {
        let email = input.trim().to_lowercase();
        let valid = email.len() <= 320
            && !email.chars().any(|c| c.is_whitespace() || c.is_control())
            && match email.split_once('@') {
                Some((local, domain)) => {
                    !local.is_empty()
                        && !domain.contains('@')
                        && domain.contains('.')
                        && !domain.starts_with('.')
                        && !domain.ends_with('.')
                }
                None => false,
            };
        if valid {
            Ok(Email(email))
        } else {
            Err(StoreError::Invalid(
                "email: not a valid email address".to_owned(),
            ))
        }
    }

    /// The normalised address.
    pub fn as_str(&self) -> &str {
        &self.0
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

/// An org name: 1–80 characters after trimming, no control characters.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OrgName(String);

impl OrgName {
    /// Parses `input`.
    pub fn parse(input: &str) -> Result<OrgName, StoreError> {
        let name = input.trim();
        if name.is_empty() || name.chars().count() > 80 || name.chars().any(char::is_control) {
            return Err(StoreError::Invalid(
                "name: 1 to 80 characters, no control characters".to_owned(),
            ));
        }
        Ok(OrgName(name.to_owned()))
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
    fn roles_order_and_parse() {
        assert!(Role::Owner > Role::Admin && Role::Admin > Role::Member);
        assert_eq!("admin".parse::<Role>().unwrap(), Role::Admin);
        assert!("Admin".parse::<Role>().is_err());
    }
}
