"""`Leadline` (sync) and `AsyncLeadline`: the same surface over httpx.Client/AsyncClient."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Callable, Iterable, Iterator, Mapping, Sequence
from datetime import datetime
from types import TracebackType
from typing import Any, Generic, Protocol, TypeVar

import httpx

from . import _base
from ._base import Call, Config, LeadIdInput, Pacer, SuppressionInput, lead_id_str
from ._errors import APIConnectionError, APITimeoutError
from ._models import (
    ChunkResult,
    ConsentsRecorded,
    ConsentsWithdrawn,
    CreateResult,
    ErasureReceipt,
    LeadCheck,
    LeadConverted,
    LeadErased,
    LeadResult,
    LeadsDisabled,
    NumberCheck,
    ResultsPage,
    Suppression,
    SuppressionsCreated,
    SuppressionsDeleted,
    SuppressionsPage,
)

LEADS = "/api/v4/leads"
CONSENTS = "/api/v4/consents"
SUPPRESSIONS = "/api/v4/suppressions"
Epoch = datetime | float | int | None
ItemT_co = TypeVar("ItemT_co", covariant=True)
OnChunk = Callable[[ChunkResult], None]


def _delete_path(campaign_id: str, suppress: bool) -> str:
    # ?suppress=true also puts the number on the business's do-not-call list.
    return f"{LEADS}/delete/{campaign_id}/" + ("?suppress=true" if suppress else "")


def _connection_error(exc: httpx.TransportError) -> APIConnectionError:
    if isinstance(exc, httpx.TimeoutException):
        return APITimeoutError(f"timed out: {exc!r}")
    return APIConnectionError(f"connection failed: {exc!r}")


def _update_body(
    lead_id: LeadIdInput,
    phone_number: str | int | None,
    contact_name: str | None,
    custom_fields: Mapping[str, Any] | None,
) -> dict[str, Any]:
    body: dict[str, Any] = {"lead_id": lead_id}
    if phone_number is not None:
        body["phone_number"] = phone_number
    if contact_name is not None:
        body["contact_name"] = contact_name
    # A custom field set to None is removed by the server.
    body.update(custom_fields or {})
    return body


# --- sync -----------------------------------------------------------------------------------


class Leadline:
    """Client of the Leadline Leads API v4.

    `api_key` and `base_url` default to the LEADLINE_API_KEY and LEADLINE_BASE_URL environment
    variables. Pass `http_client` (an httpx.Client you configured) or `transport` to control
    the HTTP layer (proxies, TLS, tests).
    """

    def __init__(
        self,
        api_key: str | None = None,
        base_url: str | None = None,
        *,
        timeout: float | httpx.Timeout = _base.DEFAULT_TIMEOUT,
        max_retries: int = _base.DEFAULT_MAX_RETRIES,
        http_client: httpx.Client | None = None,
        transport: httpx.BaseTransport | None = None,
        max_leads_per_request: int = _base.MAX_LEADS_PER_REQUEST,
    ) -> None:
        self._config = Config.build(api_key, base_url, timeout, max_retries, max_leads_per_request)
        self._owns_http = http_client is None
        self._http = http_client or httpx.Client(transport=transport, timeout=self._config.timeout)
        self._pacer = Pacer()
        self.leads = Leads(self)
        self.consents = Consents(self)
        self.suppressions = Suppressions(self)

    @property
    def base_url(self) -> str:
        return self._config.base_url

    def close(self) -> None:
        if self._owns_http:
            self._http.close()

    def __enter__(self) -> Leadline:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def _send(self, call: Call) -> httpx.Response:
        """Send with pacing and retries; returns the last response (any status)."""
        headers = self._config.headers()
        if call.body is not None:
            headers["Content-Type"] = "application/json"
        if call.idempotency_key is not None:
            headers[_base.IDEMPOTENCY_HEADER] = call.idempotency_key
        attempt = 0
        while True:
            wait = self._pacer.wait_time()
            if wait:  # sleep(0) still costs a system call per request
                time.sleep(wait)
            try:
                response = self._http.request(
                    call.method,
                    self._config.base_url + call.path,
                    params=call.params,
                    content=call.body,
                    headers=headers,
                    timeout=self._config.timeout,
                )
            except httpx.TransportError as exc:
                delay = _base.retry_delay(call, attempt, None, self._config.max_retries)
                if delay is None:
                    raise _connection_error(exc) from exc
            else:
                self._pacer.observe(response)
                delay = _base.retry_delay(call, attempt, response, self._config.max_retries)
                if delay is None:
                    return response
                response.close()
            time.sleep(delay)
            attempt += 1

    def _json(self, call: Call) -> Any:
        return _base.json_body(self._send(call))


class Leads:
    def __init__(self, client: Leadline) -> None:
        self._client = client

    def create(
        self,
        campaign_id: str,
        leads: Mapping[str, Any] | Sequence[Mapping[str, Any]],
        *,
        idempotency_key: str | None = None,
        chunk_size: int | None = None,
        resume: CreateResult | None = None,
        on_chunk: OnChunk | None = None,
    ) -> CreateResult:
        """Create leads: `{lead_id, phone_number, contact_name, **custom_fields}` each.

        A list longer than the per-request limit goes in chunks, each with its own
        Idempotency-Key (`idempotency_key` + "-<n>" when given). If a chunk fails, a
        ChunkedCreateError carries the CreateResult; pass it back as `resume=` with the same
        leads and only the chunks not yet created are sent.
        """
        items = _base.as_items(leads)
        size = chunk_size or self._client._config.max_leads_per_request
        chunks = _base.plan_chunks(len(items), size, idempotency_key, resume, campaign_id)
        result = CreateResult(campaign_id=campaign_id, chunks=chunks)
        path = f"{LEADS}/create/{campaign_id}/"
        for chunk in chunks:
            if chunk.done:
                continue
            part = items[chunk.start : chunk.stop]
            call = _base.write_call("POST", path, part, chunk.idempotency_key)
            try:
                chunk.created = _base.chunk_created(self._client._send(call), part)
            except Exception as exc:
                raise _base.chunk_error(result, chunk, exc) from exc
            if on_chunk is not None:
                on_chunk(chunk)
        return result

    def responses(
        self,
        campaign_id: str,
        *,
        processed_after: Epoch = None,
        processed_before: Epoch = None,
        lead_id: LeadIdInput | None = None,
        page_size: int | None = None,
    ) -> ResultsIterator:
        """Results of the campaign's leads, oldest first (with a processed window: in the order
        they were processed). Iterate it for LeadResult items, or `.pages()` for pages; pages
        are fetched lazily, following `next`."""
        params = _base.responses_params(
            processed_after=processed_after,
            processed_before=processed_before,
            lead_id=lead_id,
            page_size=page_size,
        )
        return ResultsIterator(self._client, f"{LEADS}/responses/{campaign_id}/", params)

    def get(self, campaign_id: str, lead_id: LeadIdInput) -> LeadResult | None:
        """One lead's result, or None if the campaign has no such lead."""
        page = next(self.responses(campaign_id, lead_id=lead_id, page_size=1).pages())
        return page.results[0] if page.results else None

    def disable(
        self,
        campaign_id: str,
        lead_ids: LeadIdInput | Iterable[LeadIdInput],
        *,
        idempotency_key: str | None = None,
    ) -> LeadsDisabled:
        ids = [lead_ids] if isinstance(lead_ids, (str, int)) else list(lead_ids)
        body = [{"lead_id": i} for i in ids]
        call = _base.write_call("POST", f"{LEADS}/disable/{campaign_id}/", body, idempotency_key)
        return LeadsDisabled.from_dict(self._client._json(call))

    def delete(
        self,
        campaign_id: str,
        lead_id: LeadIdInput,
        *,
        suppress: bool = False,
        idempotency_key: str | None = None,
    ) -> LeadErased:
        """Erase the lead's personal data (irreversible)."""
        call = _base.write_call(
            "POST", _delete_path(campaign_id, suppress), {"lead_id": lead_id}, idempotency_key
        )
        return LeadErased.from_dict(self._client._json(call))

    def update(
        self,
        campaign_id: str,
        lead_id: LeadIdInput,
        *,
        phone_number: str | int | None = None,
        contact_name: str | None = None,
        custom_fields: Mapping[str, Any] | None = None,
        idempotency_key: str | None = None,
    ) -> LeadResult:
        """Change a lead; a custom field given as None is removed."""
        body = _update_body(lead_id, phone_number, contact_name, custom_fields)
        call = _base.write_call("PATCH", f"{LEADS}/update/{campaign_id}/", body, idempotency_key)
        return LeadResult.from_dict(self._client._json(call))

    def convert(
        self,
        campaign_id: str,
        lead_id: LeadIdInput,
        detail: str,
        *,
        idempotency_key: str | None = None,
    ) -> LeadConverted:
        body = {"lead_id": lead_id, "detail": detail}
        call = _base.write_call("POST", f"{LEADS}/convert/{campaign_id}/", body, idempotency_key)
        return LeadConverted.from_dict(self._client._json(call))

    def check(
        self,
        campaign_id: str,
        leads: Mapping[str, Any] | Sequence[Mapping[str, Any]],
        *,
        chunk_size: int | None = None,
    ) -> list[LeadCheck]:
        """The dry run of `create`: per lead, what create would say of it and whether and
        when its number would be dialled. Nothing is stored. A long list goes in chunks; each
        LeadCheck's `index` (and its problems') is the position in the whole list."""
        items = _base.as_items(leads)
        size = chunk_size or self._client._config.max_leads_per_request
        path = f"{LEADS}/check/{campaign_id}/"
        checks: list[LeadCheck] = []
        for start in range(0, max(len(items), 1), size):
            call = _base.read_call(path, items[start : start + size])
            checks += _base.checked_leads(self._client._json(call), start)
        return checks

    def erasure(self, receipt_id: str) -> ErasureReceipt:
        """The receipt of an erasure (`delete(...).receipt_id`): `pending`, then `complete`."""
        return ErasureReceipt.from_dict(
            self._client._json(Call("GET", f"{LEADS}/erasures/{receipt_id}/"))
        )


class _Page(Protocol[ItemT_co]):
    @property
    def next(self) -> str | None: ...

    @property
    def results(self) -> Sequence[ItemT_co]: ...


ItemT = TypeVar("ItemT")
PageT = TypeVar("PageT", bound="_Page[Any]")


class Paginator(Generic[PageT, ItemT]):
    """Lazily follows `next`: iterating yields the items; `.pages()` yields the pages."""

    def __init__(
        self,
        client: Leadline,
        path: str,
        params: dict[str, str],
        parse: Callable[[Any], PageT],
    ) -> None:
        self._client = client
        self._path = path
        self._params = params
        self._parse = parse

    def pages(self) -> Iterator[PageT]:
        call: Call | None = Call("GET", self._path, params=self._params)
        while call is not None:
            page = self._parse(self._client._json(call))
            yield page
            call = Call("GET", _base.relative(page.next)) if page.next else None

    def __iter__(self) -> Iterator[ItemT]:
        for page in self.pages():
            yield from page.results


class ResultsIterator(Paginator[ResultsPage, LeadResult]):
    """The leads' results: iterating yields LeadResult; `.pages()` yields ResultsPage."""

    def __init__(self, client: Leadline, path: str, params: dict[str, str]) -> None:
        super().__init__(client, path, params, ResultsPage.from_dict)


class SuppressionsIterator(Paginator[SuppressionsPage, Suppression]):
    """The do-not-call entries: iterating yields Suppression; `.pages()` SuppressionsPage."""

    def __init__(self, client: Leadline, params: dict[str, str]) -> None:
        super().__init__(client, f"{SUPPRESSIONS}/", params, SuppressionsPage.from_dict)


class Consents:
    """Consent to promotional calls: /api/v4/consents/."""

    def __init__(self, client: Leadline) -> None:
        self._client = client

    def record(
        self,
        consents: Mapping[str, Any] | Iterable[Mapping[str, Any]],
        *,
        idempotency_key: str | None = None,
    ) -> ConsentsRecorded:
        """`{phone_number, given_at (aware datetime or ISO 8601), method, reference?}` each."""
        body = _base.consent_items(consents)
        call = _base.write_call("POST", f"{CONSENTS}/", body, idempotency_key)
        return ConsentsRecorded.from_dict(self._client._json(call))

    def withdraw(
        self,
        phone_numbers: str | Iterable[str | Mapping[str, Any]],
        *,
        idempotency_key: str | None = None,
    ) -> ConsentsWithdrawn:
        body = _base.phone_items(phone_numbers)
        call = _base.write_call("POST", f"{CONSENTS}/delete/", body, idempotency_key)
        return ConsentsWithdrawn.from_dict(self._client._json(call))


class Suppressions:
    """The do-not-call list: /api/v4/suppressions/. An entry is business-wide, or for one
    campaign (`campaign_id`). The server keeps only a keyed hash of each number."""

    def __init__(self, client: Leadline) -> None:
        self._client = client

    def create(
        self,
        entries: SuppressionInput | Iterable[SuppressionInput],
        *,
        campaign_id: str | None = None,
        reason: str | None = None,
        idempotency_key: str | None = None,
    ) -> SuppressionsCreated:
        """List numbers: each a number, or `{phone_number, campaign_id?, reason?}`;
        `campaign_id` and `reason` apply to the entries that do not give their own. Queued
        leads with these numbers are then processed without a call (`withdrawn`)."""
        body = _base.suppression_items(entries, campaign_id, reason)
        call = _base.write_call("POST", f"{SUPPRESSIONS}/create/", body, idempotency_key)
        return SuppressionsCreated.from_dict(self._client._json(call))

    def delete(
        self,
        entries: SuppressionInput | Iterable[SuppressionInput],
        *,
        campaign_id: str | None = None,
        idempotency_key: str | None = None,
    ) -> SuppressionsDeleted:
        """Unlist numbers (from the business-wide list, or `campaign_id`'s)."""
        body = _base.suppression_items(entries, campaign_id, None)
        call = _base.write_call("POST", f"{SUPPRESSIONS}/delete/", body, idempotency_key)
        return SuppressionsDeleted.from_dict(self._client._json(call))

    def check(self, phone_numbers: str | Iterable[str]) -> list[NumberCheck]:
        """Whether each number is listed, where and why, in the order given."""
        body = {"phone_numbers": _base.number_list(phone_numbers)}
        call = _base.read_call(f"{SUPPRESSIONS}/check/", body)
        return [NumberCheck.from_dict(r) for r in self._client._json(call).get("results", [])]

    def is_suppressed(self, phone_number: str) -> bool:
        return self.check(phone_number)[0].suppressed

    def list(
        self, *, campaign_id: str | None = None, page_size: int | None = None
    ) -> SuppressionsIterator:
        """The entries, oldest first (all, or one campaign's): iterate it for Suppression
        items, or `.pages()` for pages; fetched lazily, following `next`."""
        return SuppressionsIterator(self._client, _base.list_params(campaign_id, page_size))


# --- async ----------------------------------------------------------------------------------


class AsyncLeadline:
    """The async twin of `Leadline`: the same methods, awaited; `responses()` is an async
    iterator."""

    def __init__(
        self,
        api_key: str | None = None,
        base_url: str | None = None,
        *,
        timeout: float | httpx.Timeout = _base.DEFAULT_TIMEOUT,
        max_retries: int = _base.DEFAULT_MAX_RETRIES,
        http_client: httpx.AsyncClient | None = None,
        transport: httpx.AsyncBaseTransport | None = None,
        max_leads_per_request: int = _base.MAX_LEADS_PER_REQUEST,
    ) -> None:
        self._config = Config.build(api_key, base_url, timeout, max_retries, max_leads_per_request)
        self._owns_http = http_client is None
        self._http = http_client or httpx.AsyncClient(
            transport=transport, timeout=self._config.timeout
        )
        self._pacer = Pacer()
        self.leads = AsyncLeads(self)
        self.consents = AsyncConsents(self)
        self.suppressions = AsyncSuppressions(self)

    @property
    def base_url(self) -> str:
        return self._config.base_url

    async def aclose(self) -> None:
        if self._owns_http:
            await self._http.aclose()

    async def __aenter__(self) -> AsyncLeadline:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.aclose()

    async def _send(self, call: Call) -> httpx.Response:
        headers = self._config.headers()
        if call.body is not None:
            headers["Content-Type"] = "application/json"
        if call.idempotency_key is not None:
            headers[_base.IDEMPOTENCY_HEADER] = call.idempotency_key
        attempt = 0
        while True:
            wait = self._pacer.wait_time()
            if wait:
                await asyncio.sleep(wait)
            try:
                response = await self._http.request(
                    call.method,
                    self._config.base_url + call.path,
                    params=call.params,
                    content=call.body,
                    headers=headers,
                    timeout=self._config.timeout,
                )
            except httpx.TransportError as exc:
                delay = _base.retry_delay(call, attempt, None, self._config.max_retries)
                if delay is None:
                    raise _connection_error(exc) from exc
            else:
                self._pacer.observe(response)
                delay = _base.retry_delay(call, attempt, response, self._config.max_retries)
                if delay is None:
                    return response
                await response.aclose()
            await asyncio.sleep(delay)
            attempt += 1

    async def _json(self, call: Call) -> Any:
        return _base.json_body(await self._send(call))


class AsyncLeads:
    def __init__(self, client: AsyncLeadline) -> None:
        self._client = client

    async def create(
        self,
        campaign_id: str,
        leads: Mapping[str, Any] | Sequence[Mapping[str, Any]],
        *,
        idempotency_key: str | None = None,
        chunk_size: int | None = None,
        resume: CreateResult | None = None,
        on_chunk: OnChunk | None = None,
    ) -> CreateResult:
        items = _base.as_items(leads)
        size = chunk_size or self._client._config.max_leads_per_request
        chunks = _base.plan_chunks(len(items), size, idempotency_key, resume, campaign_id)
        result = CreateResult(campaign_id=campaign_id, chunks=chunks)
        path = f"{LEADS}/create/{campaign_id}/"
        for chunk in chunks:
            if chunk.done:
                continue
            part = items[chunk.start : chunk.stop]
            call = _base.write_call("POST", path, part, chunk.idempotency_key)
            try:
                chunk.created = _base.chunk_created(await self._client._send(call), part)
            except Exception as exc:
                raise _base.chunk_error(result, chunk, exc) from exc
            if on_chunk is not None:
                on_chunk(chunk)
        return result

    def responses(
        self,
        campaign_id: str,
        *,
        processed_after: Epoch = None,
        processed_before: Epoch = None,
        lead_id: LeadIdInput | None = None,
        page_size: int | None = None,
    ) -> AsyncResultsIterator:
        params = _base.responses_params(
            processed_after=processed_after,
            processed_before=processed_before,
            lead_id=lead_id,
            page_size=page_size,
        )
        return AsyncResultsIterator(self._client, f"{LEADS}/responses/{campaign_id}/", params)

    async def get(self, campaign_id: str, lead_id: LeadIdInput) -> LeadResult | None:
        async for page in self.responses(campaign_id, lead_id=lead_id, page_size=1).pages():
            return page.results[0] if page.results else None
        return None

    async def disable(
        self,
        campaign_id: str,
        lead_ids: LeadIdInput | Iterable[LeadIdInput],
        *,
        idempotency_key: str | None = None,
    ) -> LeadsDisabled:
        ids = [lead_ids] if isinstance(lead_ids, (str, int)) else list(lead_ids)
        body = [{"lead_id": i} for i in ids]
        call = _base.write_call("POST", f"{LEADS}/disable/{campaign_id}/", body, idempotency_key)
        return LeadsDisabled.from_dict(await self._client._json(call))

    async def delete(
        self,
        campaign_id: str,
        lead_id: LeadIdInput,
        *,
        suppress: bool = False,
        idempotency_key: str | None = None,
    ) -> LeadErased:
        call = _base.write_call(
            "POST", _delete_path(campaign_id, suppress), {"lead_id": lead_id}, idempotency_key
        )
        return LeadErased.from_dict(await self._client._json(call))

    async def update(
        self,
        campaign_id: str,
        lead_id: LeadIdInput,
        *,
        phone_number: str | int | None = None,
        contact_name: str | None = None,
        custom_fields: Mapping[str, Any] | None = None,
        idempotency_key: str | None = None,
    ) -> LeadResult:
        body = _update_body(lead_id, phone_number, contact_name, custom_fields)
        call = _base.write_call("PATCH", f"{LEADS}/update/{campaign_id}/", body, idempotency_key)
        return LeadResult.from_dict(await self._client._json(call))

    async def convert(
        self,
        campaign_id: str,
        lead_id: LeadIdInput,
        detail: str,
        *,
        idempotency_key: str | None = None,
    ) -> LeadConverted:
        body = {"lead_id": lead_id, "detail": detail}
        call = _base.write_call("POST", f"{LEADS}/convert/{campaign_id}/", body, idempotency_key)
        return LeadConverted.from_dict(await self._client._json(call))

    async def check(
        self,
        campaign_id: str,
        leads: Mapping[str, Any] | Sequence[Mapping[str, Any]],
        *,
        chunk_size: int | None = None,
    ) -> list[LeadCheck]:
        items = _base.as_items(leads)
        size = chunk_size or self._client._config.max_leads_per_request
        path = f"{LEADS}/check/{campaign_id}/"
        checks: list[LeadCheck] = []
        for start in range(0, max(len(items), 1), size):
            call = _base.read_call(path, items[start : start + size])
            checks += _base.checked_leads(await self._client._json(call), start)
        return checks

    async def erasure(self, receipt_id: str) -> ErasureReceipt:
        return ErasureReceipt.from_dict(
            await self._client._json(Call("GET", f"{LEADS}/erasures/{receipt_id}/"))
        )


class AsyncPaginator(Generic[PageT, ItemT]):
    """Lazily follows `next`: `async for` yields the items; `.pages()` the pages."""

    def __init__(
        self,
        client: AsyncLeadline,
        path: str,
        params: dict[str, str],
        parse: Callable[[Any], PageT],
    ) -> None:
        self._client = client
        self._path = path
        self._params = params
        self._parse = parse

    async def pages(self) -> AsyncIterator[PageT]:
        call: Call | None = Call("GET", self._path, params=self._params)
        while call is not None:
            page = self._parse(await self._client._json(call))
            yield page
            call = Call("GET", _base.relative(page.next)) if page.next else None

    async def __aiter__(self) -> AsyncIterator[ItemT]:
        async for page in self.pages():
            for item in page.results:
                yield item


class AsyncResultsIterator(AsyncPaginator[ResultsPage, LeadResult]):
    def __init__(self, client: AsyncLeadline, path: str, params: dict[str, str]) -> None:
        super().__init__(client, path, params, ResultsPage.from_dict)


class AsyncSuppressionsIterator(AsyncPaginator[SuppressionsPage, Suppression]):
    def __init__(self, client: AsyncLeadline, params: dict[str, str]) -> None:
        super().__init__(client, f"{SUPPRESSIONS}/", params, SuppressionsPage.from_dict)


class AsyncConsents:
    def __init__(self, client: AsyncLeadline) -> None:
        self._client = client

    async def record(
        self,
        consents: Mapping[str, Any] | Iterable[Mapping[str, Any]],
        *,
        idempotency_key: str | None = None,
    ) -> ConsentsRecorded:
        body = _base.consent_items(consents)
        call = _base.write_call("POST", f"{CONSENTS}/", body, idempotency_key)
        return ConsentsRecorded.from_dict(await self._client._json(call))

    async def withdraw(
        self,
        phone_numbers: str | Iterable[str | Mapping[str, Any]],
        *,
        idempotency_key: str | None = None,
    ) -> ConsentsWithdrawn:
        body = _base.phone_items(phone_numbers)
        call = _base.write_call("POST", f"{CONSENTS}/delete/", body, idempotency_key)
        return ConsentsWithdrawn.from_dict(await self._client._json(call))


class AsyncSuppressions:
    def __init__(self, client: AsyncLeadline) -> None:
        self._client = client

    async def create(
        self,
        entries: SuppressionInput | Iterable[SuppressionInput],
        *,
        campaign_id: str | None = None,
        reason: str | None = None,
        idempotency_key: str | None = None,
    ) -> SuppressionsCreated:
        body = _base.suppression_items(entries, campaign_id, reason)
        call = _base.write_call("POST", f"{SUPPRESSIONS}/create/", body, idempotency_key)
        return SuppressionsCreated.from_dict(await self._client._json(call))

    async def delete(
        self,
        entries: SuppressionInput | Iterable[SuppressionInput],
        *,
        campaign_id: str | None = None,
        idempotency_key: str | None = None,
    ) -> SuppressionsDeleted:
        body = _base.suppression_items(entries, campaign_id, None)
        call = _base.write_call("POST", f"{SUPPRESSIONS}/delete/", body, idempotency_key)
        return SuppressionsDeleted.from_dict(await self._client._json(call))

    async def check(self, phone_numbers: str | Iterable[str]) -> list[NumberCheck]:
        body = {"phone_numbers": _base.number_list(phone_numbers)}
        data = await self._client._json(_base.read_call(f"{SUPPRESSIONS}/check/", body))
        return [NumberCheck.from_dict(r) for r in data.get("results", [])]

    async def is_suppressed(self, phone_number: str) -> bool:
        return (await self.check(phone_number))[0].suppressed

    def list(
        self, *, campaign_id: str | None = None, page_size: int | None = None
    ) -> AsyncSuppressionsIterator:
        return AsyncSuppressionsIterator(self._client, _base.list_params(campaign_id, page_size))


__all__ = ["AsyncLeadline", "Leadline", "lead_id_str"]
