//! OpenID Connect, as a relying party, with the `openidconnect` crate: discovery, the
//! authorization code flow with PKCE (S256), state and nonce, and the ID token's checks
//! (signature against the provider's JWKS, `iss`, `aud`, `exp`, `nonce`). HTTP goes through one
//! reqwest client that never follows redirects (a provider cannot bounce Navi's requests
//! elsewhere).
//!
//! Provider metadata (with its JWKS) is kept per issuer for [`METADATA_TTL`]; a token signed with
//! a key it does not list (the provider rotated its keys) makes Navi fetch it again, once.

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
}

impl std::fmt::Debug for Oidc {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Oidc")
            .field("providers", &self.metadata.entry_count())
            .finish_non_exhaustive()
    }
}

impl Oidc {
    /// A relying party whose HTTP client follows no redirect.
    pub fn new() -> anyhow::Result<Oidc> {
        let http = openidconnect::reqwest::ClientBuilder::new()
            .redirect(openidconnect::reqwest::redirect::Policy::none())
            .timeout(REQUEST_TIMEOUT)
            .build()?;
        Ok(Oidc {
            http,
            metadata: moka::sync::Cache::builder()
                .max_capacity(1_000)
                .time_to_live(METADATA_TTL)
                .build(),
        })
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
        let metadata = CoreProviderMetadata::discover_async(issuer_url, &self.http)
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
        let response = client
            .exchange_code(AuthorizationCode::new(code.to_owned()))
            .map_err(|error| OidcError::Failed(format!("token endpoint: {error}")))?
            .set_pkce_verifier(PkceCodeVerifier::new(verifier.to_owned()))
            .request_async(&self.http)
            .await
            .map_err(|error| match error {
                openidconnect::RequestTokenError::ServerResponse(response) => {
                    OidcError::Failed(format!("the provider refused the code: {response}"))
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
