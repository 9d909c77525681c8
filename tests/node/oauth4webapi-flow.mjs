#!/usr/bin/env node
/**
 * panva's oauth4webapi, unchanged, against the identity provider: discovery (RFC 8414,
 * OpenID Connect Discovery 1.0), dynamic client registration (RFC 7591), the authorization
 * code flow with PKCE S256, state and nonce (RFC 6749 §4.1, RFC 7636, OpenID Connect Core
 * §3.1) with `iss` in the response (RFC 9207), userinfo (OpenID Connect Core §5.3), refresh
 * token rotation (RFC 6749 §6), revocation (RFC 7009) and introspection (RFC 7662).
 *
 *   node oauth4webapi-flow.mjs <issuer> <email> <password>
 *
 * The browser part (sign-in and consent forms) is plain fetch with a small cookie jar; every
 * protocol message is built and checked by oauth4webapi (plus the at_hash, which it leaves to
 * the caller). Prints a JSON summary of the steps that passed on stdout; on a failure it also
 * names the failed step and why on stderr and exits 1.
 */

import { createHash } from 'node:crypto'
import * as oauth from 'oauth4webapi'

const REDIRECT_URI = 'http://127.0.0.1:9/callback'
const SCOPE = 'openid profile email offline_access'
const TIMEOUT_MS = 30_000
// oauth4webapi talks only to https endpoints unless told otherwise; the test issuer is
// http://127.0.0.1, so this option is set and nothing else is relaxed.
const HTTP = { [oauth.allowInsecureRequests]: true }

class StepFailure extends Error {
  constructor(step, cause) {
    super(`step "${step}" failed: ${describe(cause)}`)
    this.step = step
  }
}

function describe(error) {
  if (error instanceof oauth.ResponseBodyError) {
    const description = error.error_description ?? ''
    return `HTTP ${error.status} ${error.error}: ${description} ${json(error.cause)}`
  }
  if (error instanceof oauth.WWWAuthenticateChallengeError) {
    return `HTTP ${error.status} WWW-Authenticate ${json(error.cause)}`
  }
  if (error instanceof oauth.OperationProcessingError) {
    return `${error.code}: ${error.message} ${json(causeOf(error))}`
  }
  // Our own checks say what failed; a library or programming error needs its stack.
  return error instanceof TypeError || error instanceof ReferenceError ? error.stack : String(error)
}

function causeOf(error) {
  const cause = error.cause
  if (cause instanceof Response) return { status: cause.status, url: cause.url }
  return cause
}

function json(value) {
  if (value === undefined) return ''
  const text = JSON.stringify(value)
  return text.length > 2000 ? `${text.slice(0, 2000)}...` : text
}

function check(condition, message) {
  if (!condition) throw new Error(message)
}

async function step(name, run) {
  try {
    return await run()
  } catch (error) {
    throw new StepFailure(name, error)
  }
}

/** Expect `run` to be refused: resolves with the oauth4webapi error, throws if it succeeded. */
async function refused(run) {
  try {
    await run()
  } catch (error) {
    return error
  }
  throw new Error('the server accepted what it should have refused')
}

// ---- the browser: fetch with redirect: "manual" and a cookie jar --------------------------

class Browser {
  cookies = new Map()

  async request(url, init = {}) {
    const headers = new Headers(init.headers)
    if (this.cookies.size) {
      headers.set('cookie', [...this.cookies].map(([k, v]) => `${k}=${v}`).join('; '))
    }
    const response = await fetch(url, {
      ...init,
      headers,
      redirect: 'manual',
      signal: AbortSignal.timeout(TIMEOUT_MS),
    })
    for (const line of response.headers.getSetCookie()) this.store(line)
    return response
  }

  store(line) {
    const [pair, ...attributes] = line.split(';')
    const at = pair.indexOf('=')
    const name = pair.slice(0, at).trim()
    const value = pair.slice(at + 1).trim()
    const expired = attributes.some((attr) => {
      const [key, val = ''] = attr.trim().split('=')
      const k = key.toLowerCase()
      if (k === 'max-age') return Number(val) <= 0
      return k === 'expires' && Date.parse(val) < Date.now()
    })
    if (expired) this.cookies.delete(name)
    else this.cookies.set(name, value)
  }

  /** Submit a page's POST form the way a browser would: its action, its csrf_token input. */
  async submit(page, form, fields) {
    const action = attribute(form.tag, 'action') ?? page.href
    const body = new URLSearchParams({ csrf_token: csrfToken(page, form.html), ...fields })
    return this.request(new URL(unescapeHtml(action), page), {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body,
    })
  }
}

/** The page's POST form whose contents match `pattern` (pages also carry e.g. a sign-out form). */
function postForm(html, pattern) {
  for (const match of html.matchAll(/(<form\b[^>]*>)([\s\S]*?)<\/form>/gi)) {
    if (attribute(match[1], 'method')?.toLowerCase() === 'post' && pattern.test(match[2])) {
      return { tag: match[1], html: match[2] }
    }
  }
  return undefined
}

function attribute(tag, name) {
  const match = new RegExp(`\\b${name}="([^"]*)"`, 'i').exec(tag)
  return match ? match[1] : undefined
}

function csrfToken(page, html) {
  for (const [tag] of html.matchAll(/<input\b[^>]*>/gi)) {
    if (attribute(tag, 'name') === 'csrf_token') return unescapeHtml(attribute(tag, 'value'))
  }
  throw new Error(`no csrf_token input on ${page}`)
}

/** The error a re-rendered form shows, for the failure message. */
function errorText(html) {
  const match = /<[^>]*\b(?:role="alert"|class="[^"]*error[^"]*")[^>]*>([\s\S]*?)<\//i.exec(html)
  const text = match?.[1].replace(/<[^>]*>/g, '').replace(/\s+/g, ' ').trim()
  return text || 'no error message shown'
}

function unescapeHtml(text) {
  return text
    .replaceAll('&quot;', '"')
    .replaceAll('&#39;', "'")
    .replaceAll('&#x27;', "'")
    .replaceAll('&lt;', '<')
    .replaceAll('&gt;', '>')
    .replaceAll('&amp;', '&')
}

/**
 * Follow the authorization request through sign-in and consent until the server redirects to
 * the client's redirect URI, and return that URL.
 */
async function actAsBrowser(browser, start, email, password) {
  let url = start
  const visited = []
  for (let hops = 0; hops < 15; hops++) {
    visited.push(`${url.pathname}`)
    let response = await browser.request(url)
    if (response.status === 200) {
      const html = await response.text()
      const signIn = postForm(html, /<input\b[^>]*\bname="password"/i)
      const consent = postForm(html, /<button\b[^>]*\bname="decision"[^>]*\bvalue="allow"/i)
      if (signIn) {
        check(!visited.includes('sign-in form'), `the sign-in form came back: ${errorText(html)}`)
        visited.push('sign-in form')
        response = await browser.submit(url, signIn, {
          email,
          password,
          next: url.searchParams.get('next') ?? '',
        })
      } else if (consent) {
        visited.push('consent form')
        response = await browser.submit(url, consent, { decision: 'allow' })
      } else {
        throw new Error(`unexpected page at ${url.pathname}: ${html.slice(0, 500)}`)
      }
    }
    if (![302, 303].includes(response.status)) {
      const body = await response.text()
      const shown = body.startsWith('<') ? errorText(body) : body.slice(0, 500)
      throw new Error(`${url.pathname} answered ${response.status}: ${shown}`)
    }
    const location = response.headers.get('location')
    check(location, `${url.pathname} redirected without a Location`)
    if (location.startsWith(REDIRECT_URI)) return { callback: new URL(location), visited }
    url = new URL(location, url)
    check(url.origin === start.origin, `redirected off the issuer to ${location}`)
  }
  throw new Error(`too many redirects: ${visited.join(' -> ')}`)
}

// ---- ID token at_hash (OpenID Connect Core §3.1.3.8; oauth4webapi leaves it to the caller) --

function atHash(accessToken, alg) {
  const bits = alg === 'EdDSA' || alg === 'Ed25519' ? 512 : Number(alg.slice(-3))
  const hash = createHash(`sha${bits}`).update(accessToken).digest()
  return hash.subarray(0, hash.length / 2).toString('base64url')
}

function idTokenHeader(idToken) {
  return JSON.parse(Buffer.from(idToken.split('.')[0], 'base64url').toString())
}

// ---- the flow -------------------------------------------------------------------------------

async function main(summary, email, password) {
  const issuer = new URL(summary.issuer)
  const done = (name) => summary.steps.push(name)

  const as = await step('discovery', async () => {
    const response = await oauth.discoveryRequest(issuer, { algorithm: 'oidc', ...HTTP })
    const metadata = await oauth.processDiscoveryResponse(issuer, response)
    check(
      metadata.authorization_response_iss_parameter_supported === true,
      'authorization_response_iss_parameter_supported is not true',
    )
    check(metadata.code_challenge_methods_supported?.includes('S256'), 'S256 is not advertised')
    for (const endpoint of [
      'registration_endpoint',
      'userinfo_endpoint',
      'revocation_endpoint',
      'introspection_endpoint',
    ]) {
      check(metadata[endpoint], `${endpoint} is not advertised`)
    }
    return metadata
  })
  done('discovery')

  const client = await step('registration', async () => {
    const response = await oauth.dynamicClientRegistrationRequest(
      as,
      {
        client_name: 'oauth4webapi conformance client',
        redirect_uris: [REDIRECT_URI],
        grant_types: ['authorization_code', 'refresh_token'],
        response_types: ['code'],
        token_endpoint_auth_method: 'client_secret_basic',
        scope: SCOPE,
      },
      HTTP,
    )
    check(response.status === 201, `registration answered ${response.status}, not 201`)
    const registered = await oauth.processDynamicClientRegistrationResponse(response)
    check(typeof registered.client_secret === 'string', 'no client_secret was issued')
    check(
      registered.token_endpoint_auth_method === 'client_secret_basic',
      `token_endpoint_auth_method is ${registered.token_endpoint_auth_method}`,
    )
    return registered
  })
  const clientAuth = oauth.ClientSecretBasic(client.client_secret)
  summary.client = {
    client_id: client.client_id,
    grant_types: client.grant_types,
    token_endpoint_auth_method: client.token_endpoint_auth_method,
  }
  done('registration')

  const codeVerifier = oauth.generateRandomCodeVerifier()
  const state = oauth.generateRandomState()
  const nonce = oauth.generateRandomNonce()
  const callback = await step('authorize', async () => {
    const url = new URL(as.authorization_endpoint)
    url.search = new URLSearchParams({
      client_id: client.client_id,
      redirect_uri: REDIRECT_URI,
      response_type: 'code',
      scope: SCOPE,
      state,
      nonce,
      // OpenID Connect Core §11: offline_access goes with prompt=consent.
      prompt: 'consent',
      code_challenge: await oauth.calculatePKCECodeChallenge(codeVerifier),
      code_challenge_method: 'S256',
    }).toString()
    const { callback, visited } = await actAsBrowser(new Browser(), url, email, password)
    summary.browser = visited
    return callback
  })
  done('authorize')

  const params = await step('authorization response', async () => {
    const validated = oauth.validateAuthResponse(as, client, callback, state)
    summary.authorization_response = { iss: callback.searchParams.get('iss'), state: 'matched' }
    return validated
  })
  done('authorization response')

  const tokens = await step('code exchange', async () => {
    const response = await oauth.authorizationCodeGrantRequest(
      as,
      client,
      clientAuth,
      params,
      REDIRECT_URI,
      codeVerifier,
      HTTP,
    )
    const result = await oauth.processAuthorizationCodeResponse(as, client, response, {
      expectedNonce: nonce,
      requireIdToken: true,
    })
    // oauth4webapi checks the ID token's claims (iss, aud, azp, exp, iat, nonce); its
    // signature it checks here, against the keys it fetches from jwks_uri.
    await oauth.validateApplicationLevelSignature(as, response, HTTP)
    const claims = oauth.getValidatedIdTokenClaims(result)
    const header = idTokenHeader(result.id_token)
    // OpenID Connect Core §3.1.3.6: optional in the code flow; checked when present.
    check(
      claims.at_hash === undefined || claims.at_hash === atHash(result.access_token, header.alg),
      `at_hash ${claims.at_hash} does not match the access token`,
    )
    check(typeof result.refresh_token === 'string', 'no refresh token for offline_access')
    check(result.token_type === 'bearer', `token_type is ${result.token_type}`)
    summary.token = {
      token_type: result.token_type,
      scope: result.scope,
      expires_in: result.expires_in,
      refresh_token: true,
    }
    summary.id_token = {
      alg: header.alg,
      kid: header.kid,
      signature: 'verified via jwks_uri',
      at_hash: claims.at_hash === undefined ? 'absent' : 'verified',
      iss: claims.iss,
      aud: claims.aud,
      sub: claims.sub,
      nonce: claims.nonce === nonce ? 'matched' : claims.nonce,
      amr: claims.amr,
    }
    return { result, claims }
  })
  done('code exchange')

  summary.userinfo = await step('userinfo', async () => {
    const response = await oauth.userInfoRequest(as, client, tokens.result.access_token, HTTP)
    const info = await oauth.processUserInfoResponse(as, client, tokens.claims.sub, response)
    check(info.email === email, `userinfo email is ${info.email}, not ${email}`)
    return { sub: info.sub, email: info.email, name: info.name }
  })
  done('userinfo')

  const refreshed = await step('refresh', async () => {
    const old = tokens.result.refresh_token
    const response = await oauth.refreshTokenGrantRequest(as, client, clientAuth, old, HTTP)
    const result = await oauth.processRefreshTokenResponse(as, client, response)
    check(typeof result.refresh_token === 'string', 'no refresh token in the refresh response')
    check(result.refresh_token !== old, 'the refresh token was not rotated')
    check(result.access_token !== tokens.result.access_token, 'the access token was not renewed')
    const claims = oauth.getValidatedIdTokenClaims(result)
    if (claims) {
      // OpenID Connect Core §12.2: same iss, sub, aud and azp; auth_time of the original sign-in.
      for (const claim of ['iss', 'sub', 'aud', 'azp', 'auth_time']) {
        const [now, then] = [json(claims[claim]), json(tokens.claims[claim])]
        check(now === then, `the refreshed ID token's ${claim} is ${now}, was ${then}`)
      }
      await oauth.validateApplicationLevelSignature(as, response, HTTP)
    }
    summary.refresh = { rotated: true, scope: result.scope, id_token: claims ? 'verified' : null }
    return result
  })
  done('refresh')

  const introspect = async (token, hint) => {
    const response = await oauth.introspectionRequest(as, client, clientAuth, token, {
      ...HTTP,
      additionalParameters: { token_type_hint: hint },
    })
    return oauth.processIntrospectionResponse(as, client, response)
  }

  summary.introspection = await step('introspection', async () => {
    const info = await introspect(refreshed.access_token, 'access_token')
    check(info.active === true, `a fresh access token introspects ${json(info)}`)
    check(info.client_id === client.client_id, `introspection client_id is ${info.client_id}`)
    check(info.sub === tokens.claims.sub, `introspection sub is ${info.sub}`)
    return { active: info.active, client_id: info.client_id, sub: info.sub, scope: info.scope }
  })
  done('introspection')

  summary.revocation = await step('revocation', async () => {
    const response = await oauth.revocationRequest(
      as,
      client,
      clientAuth,
      refreshed.refresh_token,
      { ...HTTP, additionalParameters: { token_type_hint: 'refresh_token' } },
    )
    await oauth.processRevocationResponse(response)
    // RFC 7009 §2.1: revoking the refresh token invalidates the access tokens of its grant.
    const after = {
      access_token: (await introspect(refreshed.access_token, 'access_token')).active,
      first_access_token: (await introspect(tokens.result.access_token, 'access_token')).active,
      refresh_token: (await introspect(refreshed.refresh_token, 'refresh_token')).active,
    }
    for (const [which, active] of Object.entries(after)) {
      check(active === false, `after revocation the ${which} still introspects active`)
    }
    const refresh = await refused(async () =>
      oauth.processRefreshTokenResponse(
        as,
        client,
        await oauth.refreshTokenGrantRequest(as, client, clientAuth, refreshed.refresh_token, HTTP),
      ),
    )
    check(
      refresh instanceof oauth.ResponseBodyError && refresh.error === 'invalid_grant',
      `the revoked refresh token was not refused with invalid_grant: ${describe(refresh)}`,
    )
    const userinfo = await refused(async () =>
      oauth.processUserInfoResponse(
        as,
        client,
        tokens.claims.sub,
        await oauth.userInfoRequest(as, client, refreshed.access_token, HTTP),
      ),
    )
    check(
      userinfo instanceof oauth.WWWAuthenticateChallengeError &&
        userinfo.cause.some((c) => c.parameters.error === 'invalid_token'),
      `userinfo did not refuse the revoked access token with invalid_token: ${describe(userinfo)}`,
    )
    return {
      introspection_after: after,
      refresh_after: refresh.error,
      userinfo_after: userinfo.status,
    }
  })
  done('revocation')
}

const [issuer, email, password] = process.argv.slice(2)
if (!issuer || !email || !password) {
  process.stderr.write('usage: node oauth4webapi-flow.mjs <issuer> <email> <password>\n')
  process.exit(2)
}
// The summary goes to stdout even on failure: it shows which steps passed before the one that
// failed.
const summary = { issuer, steps: [] }
let failure
try {
  await main(summary, email, password)
} catch (error) {
  failure = error instanceof StepFailure ? error.message : describe(error)
  summary.failed = failure
}
process.stdout.write(`${JSON.stringify(summary, null, 2)}\n`)
if (failure) {
  process.stderr.write(`oauth4webapi flow: ${failure}\n`)
  process.exit(1)
}
