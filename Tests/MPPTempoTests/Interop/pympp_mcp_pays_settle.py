"""pympp 0.16.0's MCP client pays a Settle MCP tool with tempo/charge, over the MCP SDK's
Streamable HTTP client, both unmodified.

Usage: pympp_mcp_pays_settle.py <mcp_url> <rpc_url> <chain_id> <payer_key> <tool>

Calls the tool without payment (expects -32042 with challenges), then through McpClient (which
pays the challenge and retries), then replays the paid credential (expects -32043, httpStatus 403).
Prints one JSON object.
"""

import asyncio
import json
import sys

from mcp import ClientSession
from mcp.client.streamable_http import streamablehttp_client
from mcp.shared.exceptions import McpError
from mpp.extensions.mcp import McpClient
from mpp.extensions.mcp.constants import META_CREDENTIAL
from mpp.methods.tempo import TempoAccount
from mpp.methods.tempo import client as tempo_client


async def main():
    url, rpc_url, chain_id, payer_key, tool = sys.argv[1:6]
    result = {}
    method = tempo_client.charge(account=TempoAccount.from_key(payer_key), chain_id=int(chain_id), rpc_url=rpc_url)
    async with streamablehttp_client(url) as (read, write, _):
        async with ClientSession(read, write) as session:
            await session.initialize()
            result["tools"] = [t.name for t in (await session.list_tools()).tools]
            try:
                await session.call_tool(tool, {})
                result["unpaid"] = "served"
            except McpError as error:
                result["unpaid"] = {"code": error.error.code, "challenges": len((error.error.data or {}).get("challenges", []))}
            credentials = []
            original = session.call_tool

            async def recording(name, arguments=None, **kwargs):
                meta = kwargs.get("meta") or {}
                if META_CREDENTIAL in meta:
                    credentials.append(meta[META_CREDENTIAL])
                return await original(name, arguments, **kwargs)

            session.call_tool = recording
            paid = await McpClient(session, methods=[method]).call_tool(tool, {})
            result["paid"] = {
                "text": [c.text for c in paid.result.content if getattr(c, "type", "") == "text"],
                "receipt": paid.receipt.to_dict() if paid.receipt else None,
            }
            try:
                await original(tool, {}, meta={META_CREDENTIAL: credentials[-1]})
                result["replay"] = "served"
            except McpError as error:
                result["replay"] = {"code": error.error.code, "httpStatus": (error.error.data or {}).get("httpStatus"),
                                    "challenges": len((error.error.data or {}).get("challenges", []))}
    print(json.dumps(result))


asyncio.run(main())
