//! OpenID Connect, as a relying party, with the `openidconnect` crate: discovery, the
//! authorization code flow with PKCE (S256), state and nonce, and the ID token's checks
//! (signature against the provider's JWKS, `iss`, `aud`, `exp`, `nonce`). HTTP goes through one
//! reqwest client that never follows redirects (a provider cannot bounce Navi's requests
//! elsewhere).
//!
//! Provider metadata (with its JWKS) is kept per issuer for [`METADATA_TTL`]; a token signed with
//! a key it does not list (the provider rotated its keys) makes Navi fetch it again, once.
//!
//! An org's owner chooses the issuer, so every request Navi makes to a provider is guarded
//! ([`Oidc::send`]): https only, to public addresses only (a host that is, or resolves to, a
//! loopback, private, link-local or otherwise special address is refused, after DNS too), at most
//! [`MAX_RESPONSE_BYTES`] read, and a provider's own error text is logged, never sent back. Only a
//! deployment whose `NAVI_PUBLIC_URL` is itself loopback (a developer's machine, the tests) may
//! use http and loopback providers.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use openidconnect::core::{
    CoreAuthDisplay, CoreAuthPrompt, CoreAuthenticationFlow, CoreErrorResponseType,
    CoreGenderClaim, CoreJsonWebKey, CoreJweContentEncryptionAlgorithm, CoreJwsSigningAlgorithm,
    CoreProviderMetadata, CoreRevocableToken, CoreRevocationErrorResponse,
    CoreTokenIntrospectionResponse, CoreTokenType,
};
use openidconnect::{
    AdditionalClaims, AuthorizationCode, ClaimsVerificationError, ClientId, ClientSecret,
    CsrfToken, EmptyExtraTokenFields, EndpointMaybeSet, EndpointNotSet, EndpointSet, IdTokenFields,
    IssuerUrl, Nonce, PkceCodeChallenge, PkceCodeVerifier, RedirectUrl, Scope,
    SignatureVerificationError, StandardErrorResponse, StandardTokenResponse, TokenResponse,
};
use serde::{Deserialize, Serialize};

/// How long provider metadata and keys are kept before they are fetched again.
pub const METADATA_TTL: Duration = Duration::from_secs(600);
/// How long a request to a provider may take.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(10);
/// The most of a provider's response Navi reads.
pub const MAX_RESPONSE_BYTES: usize = 256 * 1024;

/// The claims of an ID token beyond the standard ones (the role claim is one of them).
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct OtherClaims(HashMap<String, serde_json::Value>);

impl AdditionalClaims for OtherClaims {}

type TokenFields = IdTokenFields<
    OtherClaims,
    EmptyExtraTokenFields,
    CoreGenderClaim,
    CoreJweContentEncryptionAlgorithm,
    CoreJwsSigningAlgorithm,
>;

type Client = openidconnect::Client<
    OtherClaims,
    CoreAuthDisplay,
    CoreGenderClaim,
    CoreJweContentEncryptionAlgorithm,
    CoreJsonWebKey,
    CoreAuthPrompt,
    StandardErrorResponse<CoreErrorResponseType>,
    StandardTokenResponse<TokenFields, CoreTokenType>,
    CoreTokenIntrospectionResponse,
    CoreRevocableToken,
    CoreRevocationErrorResponse,
    EndpointSet,
    EndpointNotSet,
    EndpointNotSet,
    EndpointNotSet,
    EndpointMaybeSet,
    EndpointMaybeSet,
>;

/// A provider and Navi's registration there.
#[derive(Clone)]
pub struct Provider {
    /// The issuer URL.
    pub issuer: String,
    /// Navi's client id.
    pub client_id: String,
    /// Navi's client secret (`None`: a public client).
    pub client_secret: Option<String>,
    /// The claim whose values name a first role, if any.
    pub role_claim: Option<String>,
}

impl std::fmt::Debug for Provider {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Provider")
            .field("issuer", &self.issuer)
            .field("client_id", &self.client_id)
            .field("role_claim", &self.role_claim)
            .finish_non_exhaustive()
    }
}

/// What Navi keeps between sending someone to the provider and their return.
#[derive(Debug)]
pub struct Started {
    /// Where to send the browser.
    pub url: String,
    /// The `state` (also in the URL).
    pub state: String,
    /// The ID token must carry it.
    pub nonce: String,
    /// The PKCE verifier the code is exchanged with.
    pub verifier: String,
}

/// Who the provider says signed in, from a checked ID token.
#[derive(Debug, Clone)]
pub struct Identity {
    /// `iss`.
    pub issuer: String,
    /// `sub`.
    pub subject: String,
    /// `email`, if given.
    pub email: Option<String>,
    /// `email_verified` (absent: false).
    pub email_verified: bool,
    /// The role claim's values (a string or a list of strings), if the provider has a role claim.
    pub role_values: Vec<String>,
}

/// Why a sign-in through a provider failed.
#[derive(Debug, thiserror::Error)]
pub enum OidcError {
    /// The provider cannot be reached, or answered nonsense: 503.
    #[error("the identity provider is unavailable: {0}")]
    Unavailable(String),
    /// The provider refused, or what it sent does not check out: 400 `sso_failed`.
    #[error("{0}")]
    Failed(String),
}

/// The relying party: an HTTP client and the metadata of the providers it has met.
#[derive(Clone)]
pub struct Oidc {
    http: openidconnect::reqwest::Client,
    metadata: moka::sync::Cache<String, Arc<CoreProviderMetadata>>,
    local: bool,
}

/// Why a request to a provider was not made or not read.
#[derive(Debug, thiserror::Error)]
pub enum HttpError {
    /// The URL is not one Navi may request.
    #[error("{0}")]
    Refused(String),
    /// The request failed, or the response was too large.
    #[error("{0}")]
    Failed(String),
}

/// Whether `ip` is an ordinary public address (not loopback, private, link-local, shared,
/// documentation, multicast or unspecified).
pub fn is_public(ip: std::net::IpAddr) -> bool {
    use std::net::IpAddr;
    match ip {
        IpAddr::V4(v4) => {
            let [a, b, c, _] = v4.octets();
            !(v4.is_loopback()
                || v4.is_private()
                || v4.is_link_local()
                || v4.is_unspecified()
                || v4.is_broadcast()
                || v4.is_multicast()
                || v4.is_documentation()
                || a == 0
                || (a == 100 && (64..128).contains(&b))
                || (a == 192 && b == 0 && c == 0)
                || (a == 198 && (18..20).contains(&b))
                || a >= 240)
        }
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => is_public(IpAddr::V4(v4)),
            None => {
                let first = v6.segments()[0];
                !(v6.is_loopback()
                    || v6.is_unspecified()
                    || v6.is_multicast()
                    || (first & 0xfe00) == 0xfc00
                    || (first & 0xffc0) == 0xfe80
                    || first == 0x2001 && v6.segments()[1] == 0x0db8)
            }
        },
    }
}

/// Resolves names to public addresses only, so a provider's domain cannot point Navi inside.
#[derive(Debug)]
struct PublicResolver;

impl openidconnect::reqwest::dns::Resolve for PublicResolver {
    fn resolve(
        &self,
        name: openidconnect::reqwest::dns::Name,
    ) -> openidconnect::reqwest::dns::Resolving {
        let host = name.as_str().to_owned();
        Box::pin(async move {
            let addresses: Vec<std::net::SocketAddr> = tokio::net::lookup_host((host.as_str(), 0))
                .await?
                .filter(|address| is_public(address.ip()))
                .collect();
            if addresses.is_empty() {
                return Err(format!("{host} resolves to no public address").into());
            }
            Ok(Box::new(addresses.into_iter()) as openidconnect::reqwest::dns::Addrs)
        })
    }
}

impl std::fmt::Debug for Oidc {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Oidc")
            .field("providers", &self.metadata.entry_count())
            .finish_non_exhaustive()
    }
}

impl Oidc {
    /// A relying party whose HTTP client follows no redirect. `local`: http and loopback
    /// providers are allowed (only when Navi itself is served on loopback).
    pub fn new(local: bool) -> anyhow::Result<Oidc> {
        let mut builder = openidconnect::reqwest::ClientBuilder::new()
            .redirect(openidconnect::reqwest::redirect::Policy::none())
            .timeout(REQUEST_TIMEOUT);
        if !local {
            builder = builder.dns_resolver(Arc::new(PublicResolver));
        }
        Ok(Oidc {
            http: builder.build()?,
            metadata: moka::sync::Cache::builder()
                .max_capacity(1_000)
                .time_to_live(METADATA_TTL)
                .build(),
            local,
        })
    }

    /// `Ok` when Navi may request `url`: https to a host that is not an address of its own
    /// network (see [`is_public`]); anything http(s) when local.
    pub fn check_url(&self, url: &str) -> Result<(), HttpError> {
        let parsed = url::Url::parse(url).map_err(|e| HttpError::Refused(format!("{url}: {e}")))?;
        let refused = |why: &str| Err(HttpError::Refused(format!("{url}: {why}")));
        if self.local {
            return match parsed.scheme() {
                "http" | "https" => Ok(()),
                _ => refused("not http(s)"),
            };
        }
        if parsed.scheme() != "https" {
            return refused("identity providers are reached over https only");
        }
        match parsed.host() {
            Some(url::Host::Ipv4(ip)) if !is_public(ip.into()) => refused("not a public address"),
            Some(url::Host::Ipv6(ip)) if !is_public(ip.into()) => refused("not a public address"),
            Some(url::Host::Domain(domain)) if domain.eq_ignore_ascii_case("localhost") => {
                refused("not a public address")
            }
            Some(_) => Ok(()),
            None => refused("no host"),
        }
    }

    /// One request to a provider, guarded (see the module's documentation).
    async fn send(
        &self,
        request: openidconnect::HttpRequest,
    ) -> Result<openidconnect::HttpResponse, HttpError> {
        let url = request.uri().to_string();
        self.check_url(&url)?;
        let failed = |e: openidconnect::reqwest::Error| HttpError::Failed(e.to_string());
        let (parts, body) = request.into_parts();
        let mut response = self
            .http
            .request(parts.method, &url)
            .headers(parts.headers)
            .body(body)
            .send()
            .await
            .map_err(failed)?;
        let mut built = openidconnect::http::Response::builder().status(response.status());
        for (name, value) in response.headers() {
            built = built.header(name, value);
        }
        let mut bytes = Vec::new();
        while let Some(chunk) = response.chunk().await.map_err(failed)? {
            if bytes.len() + chunk.len() > MAX_RESPONSE_BYTES {
                return Err(HttpError::Failed(format!(
                    "{url}: the response is larger than {MAX_RESPONSE_BYTES} bytes"
                )));
            }
            bytes.extend_from_slice(&chunk);
        }
        built
            .body(bytes)
            .map_err(|e| HttpError::Failed(e.to_string()))
    }

    async fn provider_metadata(
        &self,
        issuer: &str,
        fresh: bool,
    ) -> Result<Arc<CoreProviderMetadata>, OidcError> {
        if !fresh {
            if let Some(metadata) = self.metadata.get(issuer) {
                return Ok(metadata);
            }
        }
        let issuer_url = IssuerUrl::new(issuer.to_owned())
            .map_err(|error| OidcError::Failed(format!("issuer: {error}")))?;
        let client = |request| self.send(request);
        let metadata = CoreProviderMetadata::discover_async(issuer_url, &client)
            .await
            .map_err(|error| OidcError::Unavailable(format!("discovery of {issuer}: {error}")))?;
        let metadata = Arc::new(metadata);
        self.metadata
            .insert(issuer.to_owned(), Arc::clone(&metadata));
        Ok(metadata)
    }

    fn client(
        provider: &Provider,
        metadata: &CoreProviderMetadata,
        redirect_uri: &str,
    ) -> Result<Client, OidcError> {
        let redirect = RedirectUrl::new(redirect_uri.to_owned())
            .map_err(|error| OidcError::Failed(format!("redirect URI: {error}")))?;
        Ok(Client::from_provider_metadata(
            metadata.clone(),
            ClientId::new(provider.client_id.clone()),
            provider.client_secret.clone().map(ClientSecret::new),
        )
        .set_redirect_uri(redirect))
    }

    /// The URL that sends someone to `provider`, with a new state, nonce and PKCE (S256)
    /// challenge.
    pub async fn start(
        &self,
        provider: &Provider,
        redirect_uri: &str,
    ) -> Result<Started, OidcError> {
        let metadata = self.provider_metadata(&provider.issuer, false).await?;
        let client = Self::client(provider, &metadata, redirect_uri)?;
        let (challenge, verifier) = PkceCodeChallenge::new_random_sha256();
        let (url, state, nonce) = client
            .authorize_url(
                CoreAuthenticationFlow::AuthorizationCode,
                CsrfToken::new_random,
                Nonce::new_random,
            )
            .add_scope(Scope::new("email".to_owned()))
            .add_scope(Scope::new("profile".to_owned()))
            .set_pkce_challenge(challenge)
            .url();
        Ok(Started {
            url: url.to_string(),
            state: state.secret().clone(),
            nonce: nonce.secret().clone(),
            verifier: verifier.secret().clone(),
        })
    }

    /// Exchanges `code` (with the PKCE verifier) and checks the ID token it brings: signature,
    /// issuer, audience, expiry and nonce. A signature by a key the kept JWKS lacks makes Navi
    /// fetch the provider's keys again, once.
    pub async fn finish(
        &self,
        provider: &Provider,
        redirect_uri: &str,
        code: &str,
        verifier: &str,
        nonce: &str,
    ) -> Result<Identity, OidcError> {
        let metadata = self.provider_metadata(&provider.issuer, false).await?;
        let client = Self::client(provider, &metadata, redirect_uri)?;
        let http = |request| self.send(request);
        let response = client
            .exchange_code(AuthorizationCode::new(code.to_owned()))
            .map_err(|error| OidcError::Failed(format!("token endpoint: {error}")))?
            .set_pkce_verifier(PkceCodeVerifier::new(verifier.to_owned()))
            .request_async(&http)
            .await
            .map_err(|error| match error {
                openidconnect::RequestTokenError::ServerResponse(response) => {
                    // The provider's own words stay in the log: an owner chooses the provider.
                    tracing::info!(%response, "the identity provider refused a code");
                    OidcError::Failed(format!(
                        "the provider refused the code ({})",
                        response.error().as_ref()
                    ))
                }
                other => OidcError::Unavailable(format!("token endpoint: {other}")),
            })?;
        let id_token = response
            .id_token()
            .ok_or_else(|| OidcError::Failed("the provider sent no ID token".to_owned()))?;
        let nonce = Nonce::new(nonce.to_owned());
        let claims = match id_token.claims(&client.id_token_verifier(), &nonce) {
            Ok(claims) => claims.clone(),
            Err(ClaimsVerificationError::SignatureVerification(
                SignatureVerificationError::NoMatchingKey,
            )) => {
                let metadata = self.provider_metadata(&provider.issuer, true).await?;
                let client = Self::client(provider, &metadata, redirect_uri)?;
                let verifier = client.id_token_verifier();
                let claims = id_token
                    .claims(&verifier, &nonce)
                    .map_err(|error| OidcError::Failed(format!("ID token: {error}")))?
                    .clone();
                claims
            }
            Err(error) => return Err(OidcError::Failed(format!("ID token: {error}"))),
        };
        let role_values = provider
            .role_claim
            .as_ref()
            .and_then(|claim| claims.additional_claims().0.get(claim))
            .map(|value| match value {
                serde_json::Value::String(one) => vec![one.clone()],
                serde_json::Value::Array(many) => many
                    .iter()
                    .filter_map(|value| value.as_str().map(str::to_owned))
                    .collect(),
                _ => Vec::new(),
            })
            .unwrap_or_default();
        Ok(Identity {
            issuer: claims.issuer().to_string(),
            subject: claims.subject().to_string(),
            email: claims.email().map(|email| email.to_string()),
            email_verified: claims.email_verified().unwrap_or(false),
            role_values,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_public_addresses_are_public() {
        for private in [
            "127.0.0.1",
            "10.1.2.3",
            "172.16.0.1",
            "192.168.1.1",
            "169.254.169.254",
            "100.64.0.1",
            "0.0.0.0",
            "192.0.2.2",
            "::1",
            "fd00::1",
            "fe80::1",
            "::ffff:10.0.0.1",
            "224.0.0.1",
        ] {
            assert!(!is_public(private.parse().unwrap()), "{private}");
        }
        for public in ["93.184.216.34", "8.8.8.8", "2606:4700:4700::1111"] {
            assert!(is_public(public.parse().unwrap()), "{public}");
        }
    }

    #[test]
    fn a_public_deployment_reaches_https_providers_on_public_hosts_only() {
        let public = Oidc::new(false).unwrap();
        assert!(public.check_url("https://accounts.example/token").is_ok());
        for refused in [
            "http://accounts.example/token",
            "https://127.0.0.1/token",
            "https://[::1]/jwks",
            "https://10.0.0.7/jwks",
            "https://localhost/jwks",
            "file:///etc/passwd",
        ] {
            assert!(public.check_url(refused).is_err(), "{refused}");
        }
        let local = Oidc::new(true).unwrap();
        assert!(local.check_url("http://127.0.0.1:4000/token").is_ok());
        assert!(local.check_url("file:///etc/passwd").is_err());
    }
}
