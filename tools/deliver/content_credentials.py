"""Content Credentials (C2PA) for the finished film: a signed statement, inside the MP4, that AI made it.

The manifest says which tool made the film, that it was created (`c2pa.created`) as
`trainedAlgorithmicMedia`, and which generative models were used. Any C2PA reader (contentcredentials.org/verify,
`c2patool`, Adobe's apps) shows it and detects a changed picture or sound through the BMFF hash. Whether the
signer is *trusted* depends on the certificate: the studio signs with its own chain from an authority on the C2PA
trust list; a certificate from anywhere else still signs, but readers report `signingCredential.untrusted`.
"""

from __future__ import annotations

import json
import os
import time
from pathlib import Path

import c2pa
from pydantic import BaseModel, ConfigDict

from tools.files import atomic_path

TRAINED_ALGORITHMIC_MEDIA = "http://cv.iptc.org/newscodes/digitalsourcetype/trainedAlgorithmicMedia"
GENERATION_LABEL = "org.agent-director.generation"
ALGORITHMS = ("es256", "es384", "es512", "ps256", "ps384", "ps512", "ed25519")
MIME_TYPES = {".mp4": "video/mp4", ".m4v": "video/mp4", ".mov": "video/quicktime"}
CERTIFICATE_PROFILE = (
    "C2PA needs an X.509 v3 end-entity certificate (not a CA) within its validity dates, with keyUsage "
    "digitalSignature and extendedKeyUsage emailProtection or documentSigning, followed by its intermediates"
)


class CredentialError(RuntimeError):
    """The film could not be signed, or its credential read: a bad certificate or key, or an unsupported file."""


class CredentialResult(BaseModel):
    """What was signed into the film, as read back from the signed file."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    video: Path
    manifest_label: str
    signer: str
    issuer: str
    algorithm: str
    timestamped: bool
    validation_state: str
    sign_seconds: float


def sign_film(
    video: Path,
    *,
    certificate_chain: Path,
    private_key: Path,
    algorithm: str = "es256",
    title: str,
    film_id: str,
    tool: str,
    models: list[tuple[str, str]],
    timestamp_url: str | None = None,
) -> CredentialResult:
    """Embed a signed C2PA manifest in `video`, replacing the file only once the signed copy is complete.

    Args:
        video: The finished MP4 (or MOV); it must not carry a credential yet.
        certificate_chain: PEM file, the signing certificate first, then its intermediates (not the root).
        private_key: PEM (PKCS#8) private key of the signing certificate.
        algorithm: The key's C2PA signing algorithm: es256 for a P-256 key, es384, es512, ps256..., ed25519.
        title: The film's title, as readers show it.
        film_id: The run that made the film, recorded so the credential leads back to `manifest.json`.
        tool: The software that made the film, e.g. `Director (agent-director 0.1.0)`.
        models: (role, model) for every generative model used, e.g. ("video", "stabilityai/svd").
        timestamp_url: An RFC 3161 time-stamp authority; with one, the credential outlives the certificate.

    Raises:
        CredentialError: the film, certificate or key is missing or unusable, or the time-stamp authority
            did not answer; the message says which and what to fix. `video` is then left as it was.
    """
    video = Path(video)
    mime = _mime_type(video)
    alg = algorithm.strip().lower()
    if alg not in ALGORITHMS:
        raise CredentialError(f"signing algorithm {algorithm!r} is not one C2PA knows; use one of {ALGORITHMS}")
    chain = _read_pem(certificate_chain, "certificate chain", "CERTIFICATE")
    key = _read_pem(private_key, "private key", "PRIVATE KEY")
    manifest = _manifest(title=title, film_id=film_id, tool=tool, models=models, mime=mime)
    if not video.is_file():
        raise CredentialError(f"{video} does not exist; cut the film before signing it")
    if (label := _existing_credential(video, mime)) is not None:
        raise CredentialError(
            f"{video} already carries a content credential ({label}); signing again would replace it and its "
            f"history, so sign the freshly cut film instead"
        )

    started = time.perf_counter()
    try:
        with atomic_path(video) as tmp:
            with tmp.open("w+b") as out, video.open("rb") as source:
                try:
                    info = c2pa.C2paSignerInfo(alg, chain, key, timestamp_url)
                    with c2pa.Signer.from_info(info) as signer, c2pa.Builder(manifest) as builder:
                        builder.sign(signer, mime, source, out)
                except c2pa.C2paError as err:
                    raise _explain(err, video, certificate_chain, private_key, alg, timestamp_url) from err
                out.flush()
                os.fsync(out.fileno())
            store = _read_store(tmp, mime)
            if store.get("validation_state") == "Invalid":
                raise CredentialError(f"the signed copy of {video} does not validate: {_failures(store)}")
    except OSError as err:
        raise CredentialError(f"could not write the signed film beside {video}: {err}") from err

    label = store["active_manifest"]
    signature = store["manifests"][label].get("signature_info", {})
    return CredentialResult(
        video=video,
        manifest_label=label,
        signer=signature.get("common_name", ""),
        issuer=signature.get("issuer", ""),
        algorithm=alg,
        timestamped=bool(signature.get("time")),
        validation_state=store.get("validation_state", ""),
        sign_seconds=time.perf_counter() - started,
    )


def read_credentials(video: Path, *, trust_anchors: Path | None = None) -> dict:
    """The film's active C2PA manifest as JSON, with the store's `validation_state` and `validation_status`.

    `validation_state` is `Invalid` (the file or manifest was changed, or the signature is bad), `Valid`
    (intact, but the signer is not in the trust anchors; `validation_status` then lists
    `signingCredential.untrusted`) or `Trusted`. Without `trust_anchors` (a PEM file of root certificates, such
    as the C2PA trust list) no signer is trusted.

    Raises:
        CredentialError: the file is missing, not a supported video, or carries no content credential.
    """
    video = Path(video)
    store = _read_store(video, _mime_type(video), trust_anchors)
    manifest = dict(store["manifests"][store["active_manifest"]])
    manifest["validation_state"] = store.get("validation_state", "")
    manifest["validation_status"] = store.get("validation_status", [])
    return manifest


def _manifest(*, title: str, film_id: str, tool: str, models: list[tuple[str, str]], mime: str) -> dict:
    """The manifest definition: one `c2pa.created` action by `tool`, and the models in our own assertion.

    C2PA has no standard assertion for "which models generated this" (`c2pa.training-mining` is about whether
    the asset may be used for training), so the models go in an entity-specific assertion and, readably, in the
    created action's description.
    """
    used = [{"role": role, "model": model} for role, model in models]
    description = f"Generated by {tool}" + (": " + "; ".join(f"{r}: {m}" for r, m in models) if models else "")
    return {
        "claim_generator_info": [{"name": tool}],
        "title": title,
        "format": mime,
        "assertions": [
            {
                "label": "c2pa.actions",
                "data": {
                    "actions": [
                        {
                            "action": "c2pa.created",
                            "digitalSourceType": TRAINED_ALGORITHMIC_MEDIA,
                            "softwareAgent": {"name": tool},
                            "parameters": {"description": description},
                        }
                    ]
                },
            },
            {"label": GENERATION_LABEL, "data": {"tool": tool, "film_id": film_id, "models": used}},
        ],
    }


def _read_store(video: Path, mime: str, trust_anchors: Path | None = None) -> dict:
    context = None
    if trust_anchors is not None:
        anchors = _read_pem(trust_anchors, "trust anchors", "CERTIFICATE").decode()
        settings = c2pa.Settings.from_dict({"trust": {"trust_anchors": anchors}, "verify": {"verify_trust": True}})
        context = c2pa.Context(settings=settings)
    try:
        with video.open("rb") as stream, c2pa.Reader(mime, stream, context=context) as reader:
            return json.loads(reader.json())
    except FileNotFoundError as err:
        raise CredentialError(f"{video} does not exist; cut the film first") from err
    except OSError as err:
        raise CredentialError(f"cannot read {video}: {err}") from err
    except c2pa.C2paError.ManifestNotFound as err:
        raise CredentialError(f"{video} carries no content credential; sign it with sign_film") from err
    except c2pa.C2paError as err:
        raise CredentialError(f"cannot read the content credential of {video}: {err}") from err


def _existing_credential(video: Path, mime: str) -> str | None:
    """The label of the manifest `video` already carries; None also for a file C2PA cannot parse, left to sign."""
    try:
        with video.open("rb") as stream:
            reader = c2pa.Reader.try_create(mime, stream)
            if reader is None:
                return None
            with reader:
                return json.loads(reader.json()).get("active_manifest", "")
    except c2pa.C2paError:
        return None


def _mime_type(video: Path) -> str:
    mime = MIME_TYPES.get(video.suffix.lower())
    if mime is None:
        raise CredentialError(f"{video} is not an MP4 or MOV film; content credentials are signed into the cut")
    return mime


def _read_pem(path: Path, what: str, marker: str) -> bytes:
    path = Path(path)
    try:
        data = path.read_bytes()
    except OSError as err:
        raise CredentialError(f"cannot read the {what} {path}: {err}; check the path in the settings") from err
    if f"{marker}-----".encode() not in data:
        raise CredentialError(f"{path} holds no PEM {marker.lower()}; the {what} must be PEM text (-----BEGIN ...)")
    return data


def _explain(
    err: c2pa.C2paError, video: Path, chain: Path, key: Path, alg: str, timestamp_url: str | None
) -> CredentialError:
    """Turn the SDK's terse error into one that names the file at fault and the fix."""
    text = str(err)
    if "http resolver" in text or "timestamp" in text.lower():
        return CredentialError(
            f"the time-stamp authority {timestamp_url} did not answer ({text}); check the URL and the network, "
            f"or sign without a timestamp_url"
        )
    if "does not match" in text:
        return CredentialError(
            f"the private key {key} does not belong to the certificate in {chain}; pass the key issued with it"
        )
    if "invalid signing credentials" in text or "Invalid signing algorithm" in text:
        return CredentialError(
            f"the private key {key} is not a usable {alg} key ({text}); use a PKCS#8 PEM key whose type matches "
            f"the algorithm (es256: EC P-256, es384: P-384, es512: P-521, ps*: RSA, ed25519: Ed25519)"
        )
    if "certificate" in text.lower():
        return CredentialError(f"the certificate in {chain} cannot sign ({text}): {CERTIFICATE_PROFILE}")
    if isinstance(err, c2pa.C2paError.NotSupported) or "could not be parsed" in text:
        return CredentialError(f"{video} is not a film C2PA can sign ({text}); sign the MP4 the cut wrote")
    return CredentialError(f"could not sign {video}: {text}")


def _failures(store: dict) -> str:
    return "; ".join(f"{s.get('code')}: {s.get('explanation', '')}" for s in store.get("validation_status", []))
