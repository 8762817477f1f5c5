// The OpenID Provider of the sign-in tests: `oidc-provider` (OpenID Certified), two issuers on
// two ports (the platform's and one org's), started by `cargo xtask test`:
//
//   node provider.mjs PLATFORM_PORT ORG_PORT REDIRECT_URI
//
// Each issuer is http://127.0.0.1:PORT with one confidential client, `navi` / `navi-secret`,
// allowed REDIRECT_URI. What is test-specific is only who signs in: the login step reads the
// account from `login_hint` (base64url JSON: {"sub","email","email_verified","groups","deny"}),
// so a test chooses the person (or a refusal, `deny`) by adding it to the authorization URL Navi
// sent it to; consent is pre-granted. Everything else (discovery, PKCE, the code, the token
// endpoint, signed ID tokens, the JWKS) is the provider's own.
//
// `POST /test/rotate` on a port replaces that issuer's signing key (a new `kid`), as a provider
// rotating its keys would.

import { createServer } from "node:http";
import { generateKeyPairSync, randomUUID } from "node:crypto";
import Provider from "oidc-provider";
import { setStorage } from "oidc-provider/lib/adapters/memory_adapter.js";
import QuickLRU from "quick-lru";

// The in-memory store of both issuers (interactions, sessions, codes, grants), large enough that
// a whole parallel test suite evicts nothing in flight (the default keeps 1,000 entries).
setStorage(new QuickLRU({ maxSize: 1_000_000 }));

const [platformPort, orgPort, redirectUri] = process.argv.slice(2);
if (!platformPort || !orgPort || !redirectUri) {
  console.error("usage: node provider.mjs PLATFORM_PORT ORG_PORT REDIRECT_URI");
  process.exit(2);
}

const accounts = new Map();

function signingKey() {
  const { privateKey } = generateKeyPairSync("rsa", { modulusLength: 2048 });
  return { ...privateKey.export({ format: "jwk" }), kid: randomUUID(), alg: "RS256", use: "sig" };
}

// Cookie keys stay with the port across key rotations, so sign-ins in flight survive them.
const cookieKeys = new Map();

function makeProvider(port) {
  const issuer = `http://127.0.0.1:${port}`;
  if (!cookieKeys.has(port)) {
    cookieKeys.set(port, [randomUUID()]);
  }
  const provider = new Provider(issuer, {
    clients: [{
      client_id: "navi",
      client_secret: "navi-secret",
      redirect_uris: [redirectUri],
      grant_types: ["authorization_code"],
      response_types: ["code"],
      token_endpoint_auth_method: "client_secret_basic",
    }],
    jwks: { keys: [signingKey()] },
    cookies: { keys: cookieKeys.get(port) },
    scopes: ["openid", "email", "profile"],
    claims: { openid: ["sub"], email: ["email", "email_verified"], profile: ["groups"] },
    // The claims go in the ID token (Navi reads no userinfo).
    conformIdTokenClaims: false,
    features: { devInteractions: { enabled: false } },
    interactions: { url: (ctx, interaction) => `/interaction/${interaction.uid}` },
    findAccount: async (ctx, id) => ({
      accountId: id,
      claims: async () => accounts.get(id) ?? { sub: id },
    }),
    // Consent is given in advance: Navi is the provider's own application.
    loadExistingGrant: async (ctx) => {
      const grant = new ctx.oidc.provider.Grant({
        clientId: ctx.oidc.client.clientId,
        accountId: ctx.oidc.session.accountId,
      });
      grant.addOIDCScope("openid email profile");
      await grant.save();
      return grant;
    },
  });
  provider.on("server_error", (ctx, error) => console.error(issuer, error));
  return provider;
}

async function login(provider, req, res) {
  const details = await provider.interactionDetails(req, res);
  const hint = details.params.login_hint;
  let account;
  try {
    account = JSON.parse(Buffer.from(hint ?? "", "base64url").toString("utf8"));
  } catch {
    account = null;
  }
  if (!account || typeof account.sub !== "string") {
    res.statusCode = 400;
    res.end("the tests name the account in login_hint");
    return;
  }
  if (account.deny) {
    await provider.interactionFinished(req, res, {
      error: "access_denied",
      error_description: "the person declined",
    }, { mergeWithLastSubmission: false });
    return;
  }
  accounts.set(account.sub, account);
  await provider.interactionFinished(req, res, { login: { accountId: account.sub } }, {
    mergeWithLastSubmission: false,
  });
}

function serve(port) {
  let provider = makeProvider(port);
  createServer(async (req, res) => {
    try {
      if (req.method === "POST" && req.url === "/test/rotate") {
        provider = makeProvider(port);
        res.end("rotated");
      } else if (req.url.startsWith("/interaction/")) {
        await login(provider, req, res);
      } else {
        provider.callback()(req, res);
      }
    } catch (error) {
      console.error(error);
      res.statusCode = 500;
      res.end(String(error));
    }
  }).listen(Number(port), "127.0.0.1");
}

serve(platformPort);
serve(orgPort);
console.log(`oidc-provider: http://127.0.0.1:${platformPort} and http://127.0.0.1:${orgPort}`);
