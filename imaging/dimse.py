"""The DICOM listener: C-ECHO and C-STORE from a hospital's archive (pynetdicom).

One listener serves every board: the *called* AE title of an association names the board
(`Board.dicom_ae_title`), and the *calling* AE title, with the caller's address where one is
set, must be one the board's coordinator registered (`DicomCaller`). Anyone else is rejected
at association time (A-ASSOCIATE-RJ, "calling/called AE title not recognised", PS3.8 9.3.4)
and the refusal is audited. What is received goes through `imaging.inbox.dicom_store`, and so
through `imaging.prepare` and `imaging.ingest` like every upload.

pynetdicom runs each association in a thread of its own: the handlers below use Django's
ORM from those threads, so each association closes its database connections when it ends.
The accepted storage classes are pynetdicom's storage SOP classes less those the ingest
skips (`imaging.prepare.NON_IMAGE`: reports, presentation states, RT objects, documents,
waveforms), each with the transfer syntaxes the ingest decodes.
"""

from __future__ import annotations

import logging
import socket
import threading
from dataclasses import dataclass

from django.conf import settings
from django.db import connections
from django.db.models import Q
from pydicom import uid
from pydicom.dataset import Dataset
from pynetdicom import AE, AllStoragePresentationContexts, _config, evt
from pynetdicom.presentation import PresentationContext, build_context
from pynetdicom.sop_class import Verification

from board.models import Board
from cases.audit import audit
from imaging.inbox import OUT_OF_RESOURCES, Receipt, dicom_store, error_comment
from imaging.models import DicomCaller
from imaging.prepare import NON_IMAGE

logger = logging.getLogger(__name__)

# pynetdicom logs C-FIND identifiers and C-STORE datasets' details at debug level: patient
# identifiers never reach a log.
_config.LOG_REQUEST_IDENTIFIERS = False
_config.LOG_RESPONSE_IDENTIFIERS = False

# What `imaging.prepare` reads and decodes (pydicom with pylibjpeg, openjpeg, RLE and CharLS;
# deflate is zlib). The order is the listener's preference, and pynetdicom picks the first of
# these that the sender proposes (presentation.negotiate_as_acceptor): compressed first, as a
# sender proposes a compressed syntax when it holds the file so, and sending it as it is
# keeps its bytes and spares a decode the sender may not even be able to do (dcmtk's
# storescu cannot decompress JPEG); lossless before lossy; uncompressed last.
TRANSFER_SYNTAXES = [
    uid.JPEGLossless,
    uid.JPEGLosslessSV1,
    uid.JPEGLSLossless,
    uid.JPEG2000Lossless,
    uid.HTJ2KLossless,
    uid.HTJ2KLosslessRPCL,
    uid.RLELossless,
    uid.JPEGBaseline8Bit,
    uid.JPEGExtended12Bit,
    uid.JPEGLSNearLossless,
    uid.JPEG2000,
    uid.HTJ2K,
    uid.DeflatedExplicitVRLittleEndian,
    uid.ExplicitVRLittleEndian,
    uid.ImplicitVRLittleEndian,
]

_END_LOCK = threading.Lock()

# A-ASSOCIATE-RJ (PS3.8 Table 9-21): rejected-permanent, by the service user.
REJECTED_PERMANENT = 0x01
SERVICE_USER = 0x01
CALLING_AE_NOT_RECOGNISED = 0x03
CALLED_AE_NOT_RECOGNISED = 0x07


def image_storage_classes() -> list[str]:
    """The storage SOP Class UIDs the ingest keeps (everything but NON_IMAGE's families)."""
    return sorted(
        value
        for value in (str(cx.abstract_syntax) for cx in AllStoragePresentationContexts)
        if not any(value == prefix or value.startswith(prefix + ".") for prefix in NON_IMAGE)
    )


def storage_contexts() -> list[PresentationContext]:
    return [build_context(sop_class, TRANSFER_SYNTAXES) for sop_class in image_storage_classes()]


@dataclass(frozen=True)
class Caller:
    calling_ae_title: str
    called_ae_title: str
    address: str


def caller_of(assoc) -> Caller:
    primitive = assoc.requestor.primitive
    return Caller(
        calling_ae_title=str(primitive.calling_ae_title).strip(),
        called_ae_title=str(primitive.called_ae_title).strip(),
        address=str(assoc.requestor.address),
    )


def board_for(caller: Caller) -> tuple[Board | None, int]:
    """The board this caller may send to, or None and the A-ASSOCIATE-RJ diagnostic."""
    board = Board.objects.filter(dicom_ae_title=caller.called_ae_title).first()
    if not caller.called_ae_title or board is None:
        return None, CALLED_AE_NOT_RECOGNISED
    known = DicomCaller.objects.filter(board=board, ae_title=caller.calling_ae_title).filter(
        Q(host__isnull=True) | Q(host=caller.address)
    )
    if not known.exists():
        return board, CALLING_AE_NOT_RECOGNISED
    return board, 0


def _on_connection(event) -> None:
    # Each PDU of a C-STORE is one send: without TCP_NODELAY, Nagle's algorithm holds the
    # short response PDUs back until the peer's delayed ACK (tens of ms per file).
    sock = event.assoc.dul.socket
    if sock is not None and sock.socket is not None:
        sock.socket.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)


def _on_requested(event) -> None:
    assoc = event.assoc
    caller = caller_of(assoc)
    try:
        board, diagnostic = board_for(caller)
        if diagnostic:
            reason = "called" if diagnostic == CALLED_AE_NOT_RECOGNISED else "calling"
            audit(
                actor=None,
                action="imaging.dicom_association",
                target=board,
                allowed=False,
                detail={
                    "calling_ae_title": caller.calling_ae_title,
                    "called_ae_title": caller.called_ae_title,
                    "address": caller.address,
                    "reason": f"{reason} AE title not recognised",
                },
            )
            # As pynetdicom's own rejection does (acse._negotiate_as_acceptor): the PDU is
            # queued for the DUL thread, and `kill` waits for it to go out before the
            # socket is closed (closed first, the peer sees an abort, not a rejection).
            assoc.acse.send_reject(REJECTED_PERMANENT, SERVICE_USER, diagnostic)
            evt.trigger(assoc, evt.EVT_REJECTED, {})
            assoc.kill()
            return
        # The A-ASSOCIATE-AC echoes the called AE title (PS3.8 9.3.3.1).
        assoc.acceptor.ae_title = caller.called_ae_title
        assoc.consilium_receipt = Receipt(
            board=board, calling_ae_title=caller.calling_ae_title, address=caller.address
        )
    finally:
        if getattr(assoc, "consilium_receipt", None) is None:
            connections.close_all()


def _on_echo(event) -> int:
    return 0x0000


def _on_store(event) -> Dataset | int:
    receipt: Receipt | None = getattr(event.assoc, "consilium_receipt", None)
    status = Dataset()
    if receipt is None:  # cannot happen: associations are accepted with a receipt
        status.Status = OUT_OF_RESOURCES
        return status
    try:
        stored = dicom_store(
            board=receipt.board,
            calling_ae_title=receipt.calling_ae_title,
            data=event.encoded_dataset(),
        )
    except Exception:
        logger.exception("C-STORE failed")  # no identifiers: the exception, not the data
        status.Status = OUT_OF_RESOURCES
        status.ErrorComment = "The file could not be stored."
        return status
    receipt.count(stored)
    status.Status = stored.status
    if stored.reason:
        status.ErrorComment = error_comment(stored.reason)
    return status


def _on_end(event) -> None:
    """Released or aborted: audit what the association stored, once."""
    assoc = event.assoc
    with _END_LOCK:  # released, then aborted: audited once
        receipt = getattr(assoc, "consilium_receipt", None)
        assoc.consilium_receipt = None
    try:
        if receipt is not None:
            receipt.close()
    finally:
        connections.close_all()


HANDLERS = [
    (evt.EVT_CONN_OPEN, _on_connection),
    (evt.EVT_REQUESTED, _on_requested),
    (evt.EVT_C_ECHO, _on_echo),
    (evt.EVT_C_STORE, _on_store),
    (evt.EVT_RELEASED, _on_end),
    (evt.EVT_ABORTED, _on_end),
]


def application_entity() -> AE:
    """The listener's AE: the boards' titles are checked per association, not here."""
    ae = AE(ae_title="CONSILIUM")
    ae.require_called_aet = False
    ae.require_calling_aet = []
    ae.maximum_associations = settings.DICOM_MAX_ASSOCIATIONS
    ae.maximum_pdu_size = 0  # no limit on what the peer sends a PDU at a time
    ae.add_supported_context(Verification)
    for context in storage_contexts():
        ae.add_supported_context(context.abstract_syntax, context.transfer_syntax)
    return ae


def listen(*, host: str | None = None, port: int | None = None, block: bool = True):
    """Serve until stopped; with ``block=False``, return the server (``.shutdown()``)."""
    address = (host or settings.DICOM_HOST, settings.DICOM_PORT if port is None else port)
    ae = application_entity()
    logger.info("DICOM listener on %s:%s", *address)
    return ae.start_server(address, block=block, evt_handlers=HANDLERS)
