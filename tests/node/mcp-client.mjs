#!/usr/bin/env node
/**
 * The MCP TypeScript SDK's client, unchanged, as a command-line MCP host would run it: it
 * connects to an MCP server over streamable HTTP and lets the SDK's OAuth code find the
 * authorization server (RFC 9728), register (RFC 7591), and authorize with PKCE and `resource`
 * (RFC 7636, RFC 8707). The redirect URI is a loopback HTTP server this script runs
 * (RFC 8252 §7.3); the person at the browser is the test, which reads the URLs to open here.
 *
 *   node mcp-client.mjs <mcp-server-url> <issuer> [<client-metadata-url>]
 *
 * With a client metadata URL the SDK uses it as client_id instead of registering, when the
 * authorization server advertises `client_id_metadata_document_supported` (MCP authorization
 * 2025-11-25 "Client ID Metadata Documents"); the document published there lists
 * http://127.0.0.1/callback, whose port may vary (RFC 8252 §7.3).
 *
 * Prints one JSON object per line on stdout:
 *   {"authorize": "<authorization URL>"}   open it, sign in and consent (once per authorization)
 *   {"result": {...}}                      what the session did, at the end
 * On failure it prints the error on stderr and exits 1.
 */

import { randomBytes } from 'node:crypto'
import { createServer } from 'node:http'
import { UnauthorizedError } from '@modelcontextprotocol/sdk/client/auth.js'
import { Client } from '@modelcontextprotocol/sdk/client/index.js'
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js'

const [mcpUrl, issuer, clientMetadataUrl] = process.argv.slice(2)
const TIMEOUT_MS = 90_000

/** The loopback redirect URI: hands each authorization response to the one waiting for it. */
function startLoopback() {
  const waiting = []
  const server = createServer((request, response) => {
    const url = new URL(request.url, 'http://127.0.0.1')
    if (url.pathname !== '/callback') {
      response.writeHead(404).end()
      return
    }
    response.writeHead(200, { 'content-type': 'text/html; charset=utf-8' })
    response.end('<!doctype html><title>Done</title><h1>You can close this window</h1>')
    waiting.shift()?.(Object.fromEntries(url.searchParams))
  })
  return new Promise(resolve => {
    server.listen(0, '127.0.0.1', () => {
      resolve({
        redirectUrl: `http://127.0.0.1:${server.address().port}/callback`,
        next: () => new Promise(answer => waiting.push(answer)),
        close: () => server.close()
      })
    })
  })
}

/** The SDK's OAuthClientProvider, kept in memory (a real CLI would keep it on disk). */
class MemoryProvider {
  constructor(redirectUrl, clientMetadataUrl) {
    this.redirectUrl = redirectUrl
    if (clientMetadataUrl) this.clientMetadataUrl = clientMetadataUrl
    this.clientMetadata = {
      client_name: 'Notes CLI (TypeScript)',
      redirect_uris: [redirectUrl],
      grant_types: ['authorization_code', 'refresh_token'],
      response_types: ['code'],
      token_endpoint_auth_method: 'none'
    }
    this.saved = { client: undefined, tokens: [], verifier: undefined, state: undefined }
    this.authorizationUrls = []
  }

  state() {
    this.saved.state = randomBytes(16).toString('hex')
    return this.saved.state
  }

  clientInformation() {
    return this.saved.client
  }

  saveClientInformation(client) {
    this.saved.client = client
  }

  tokens() {
    return this.saved.tokens.at(-1)
  }

  saveTokens(tokens) {
    this.saved.tokens.push(tokens)
  }

  redirectToAuthorization(url) {
    this.authorizationUrls.push(url.href)
    process.stdout.write(`${JSON.stringify({ authorize: url.href })}\n`)
  }

  saveCodeVerifier(verifier) {
    this.saved.verifier = verifier
  }

  codeVerifier() {
    return this.saved.verifier
  }
}

/** Run `call`; when the SDK needs the person, wait for the redirect, finish, and run it again. */
async function authorized(session, call) {
  const { provider, loopback } = session
  const answer = loopback.next()
  try {
    return await call()
  } catch (error) {
    if (!(error instanceof UnauthorizedError)) throw error
  }
  const response = await answer
  // The checks the SDK leaves to the host: our state came back (RFC 6749 §10.12) and the
  // response is from the issuer the server named (RFC 9207 §2.4).
  if (response.state !== provider.saved.state) throw new Error(`state mismatch: ${JSON.stringify(response)}`)
  if (response.iss !== issuer) throw new Error(`iss ${response.iss} is not ${issuer}`)
  if (!response.code) throw new Error(`the authorization was refused: ${JSON.stringify(response)}`)
  await session.transport.finishAuth(response.code)
  return await call()
}

function textOf(result) {
  return { isError: result.isError ?? false, text: result.content?.[0]?.text }
}

async function main() {
  const loopback = await startLoopback()
  const provider = new MemoryProvider(loopback.redirectUrl, clientMetadataUrl)
  const client = new Client({ name: 'notes-cli', version: '1.0.0' })
  const session = { provider, loopback, transport: undefined }
  const connect = () => {
    session.transport = new StreamableHTTPClientTransport(new URL(mcpUrl), { authProvider: provider })
    return client.connect(session.transport)
  }
  try {
    // The first connection is refused with 401; once the person consents, connect anew.
    await authorized(session, connect)
    const tools = await client.listTools()
    const notes = await client.callTool({ name: 'read_notes', arguments: {} })
    // 403 insufficient_scope: the SDK asks again for the scopes the challenge names.
    const written = await authorized(session, () =>
      client.callTool({ name: 'write_note', arguments: { text: 'buy milk' } })
    )
    const result = {
      tools: tools.tools.map(tool => tool.name).sort(),
      read_notes: textOf(notes),
      write_note: textOf(written),
      client: {
        client_id: provider.saved.client.client_id,
        token_endpoint_auth_method: provider.saved.client.token_endpoint_auth_method,
        redirect_uris: provider.saved.client.redirect_uris
      },
      authorization_urls: provider.authorizationUrls,
      tokens: provider.saved.tokens.map(token => ({
        access_token: token.access_token,
        scope: token.scope,
        refresh_token: Boolean(token.refresh_token)
      }))
    }
    process.stdout.write(`${JSON.stringify({ result })}\n`)
  } finally {
    await client.close().catch(() => {})
    loopback.close()
  }
}

const timer = setTimeout(() => {
  process.stderr.write(`no result in ${TIMEOUT_MS} ms\n`)
  process.exit(1)
}, TIMEOUT_MS)
main().then(
  () => {
    clearTimeout(timer)
    process.exit(0)
  },
  error => {
    process.stderr.write(`${error.stack ?? error}\n`)
    process.exit(1)
  }
)
