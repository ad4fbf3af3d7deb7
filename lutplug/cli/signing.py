"""``lutplug keygen | sign | verify``: Ed25519 keys, signing a .nlut, checking its signature."""
from __future__ import annotations

import sys
from pathlib import Path
from typing import Optional

import click

from lutplug.cli.common import trust_options
from lutplug.errors import LutError

#: ``lutplug verify`` exit codes besides 0 (valid, or unsigned when no signature is required).
EXIT_INVALID_SIGNATURE, EXIT_UNSIGNED, EXIT_UNTRUSTED, EXIT_EXPIRED, EXIT_STRIPPED, EXIT_RESIGNED = \
    3, 4, 5, 6, 7, 8


@click.command()
@click.option("-o", "--output", type=click.Path(path_type=Path), required=True,
              help="Private key file to write; the public key goes to OUTPUT.pub.")
def keygen(output: Path) -> None:
    """Create an Ed25519 key pair for signing .nlut files; prints its trust-store line."""
    from lutplug.codec import trust
    from lutplug.codec.signing import generate_keypair, load_public_key

    pub = output.with_name(output.name + ".pub")
    kid = generate_keypair(output, pub)
    click.echo(f"wrote private key {output} (keep it secret) and public key {pub}; key id {kid}")
    line = trust.TrustedKey(trust.raw_key(load_public_key(pub)), output.stem).line()
    click.echo(f"trust-store line (add ' not-after=YYYY-MM-DD' to limit it): {line}")


@click.command()
@click.argument("file", type=click.Path(path_type=Path))
@click.option("--key", type=click.Path(path_type=Path), required=True, help="Private key (PEM).")
@click.option("-o", "--output", type=click.Path(path_type=Path), default=None,
              help="Write the signed file here instead of in place.")
@click.option("--resign", is_flag=True,
              help="Sign a file that names another signer, making this key its signer.")
def sign(file: Path, key: Path, output: Optional[Path], resign: bool) -> None:
    """Sign a .nlut (Ed25519). The file is made to name its signer inside the signed bytes (so a
    removed or replaced signature shows); the first signature therefore changes its content hash."""
    from lutplug.codec.nlut import sign_file
    from lutplug.codec.signing import load_private_key

    kid = sign_file(file, load_private_key(key), output, resign=resign)
    click.echo(f"signed {output or file} with key {kid}")


@click.command()
@click.argument("file", type=click.Path(path_type=Path))
@click.option("--pubkey", type=click.Path(path_type=Path), default=None,
              help="Trusted public key; the file must be signed by it.")
@click.option("--trust", "trust_path", type=click.Path(path_type=Path), default=None,
              help="Trust store (a store file, a folder of .pub keys or one .pub); default "
                   "$LUTPLUG_TRUST.")
def verify(file: Path, pubkey: Optional[Path], trust_path: Optional[Path]) -> None:
    """Check a .nlut's signature. Exit 0 valid (or unsigned when no signature is required),
    3 tampered or corrupt, 4 unsigned when a signature is required, 5 intact but signed by a key
    that is not trusted (wrong or unknown key), 6 signed by a trusted key past its not-after
    date, 7 signature stripped, 8 re-signed by another key than the signer the file names.
    The signature is checked before anything of the payload is parsed."""
    from lutplug.codec.nlut import MAX_NLUT_BYTES, signature_status
    from lutplug.errors import StrippedSignatureError
    from lutplug.fileio import read_bytes

    store, required = trust_options(pubkey, trust_path)
    try:
        status, c = signature_status(read_bytes(file, MAX_NLUT_BYTES), str(file), store)
    except StrippedSignatureError as exc:
        click.echo(f"STRIPPED: {exc}")
        sys.exit(EXIT_STRIPPED)
    except LutError as exc:
        click.echo(f"INVALID: {exc}")
        sys.exit(EXIT_INVALID_SIGNATURE)
    key, where = status.key_id, (store.source if store else "")
    outcomes = {
        "invalid": (EXIT_INVALID_SIGNATURE, f"INVALID: {file}: signature (key {key}) does not match "
                    "the contents: altered after signing"),
        "stripped": (EXIT_STRIPPED, f"STRIPPED: {file}: names signer {status.declared} but carries "
                     "no signature: its signature was removed"),
        "resigned": (EXIT_RESIGNED, f"RESIGNED: {file}: intact, but signed by key {key} while it "
                     f"names signer {status.declared}: re-signed by another key"),
        "expired": (EXIT_EXPIRED, f"EXPIRED: {file}: signed by trusted key {key} "
                    f"({status.key_name}), valid until {status.not_after} only"),
        "unsigned": (EXIT_UNSIGNED if required else 0, f"UNSIGNED: {file}"
                     + (f": a signature is required ({where})" if required else "")),
    }
    if status.state == "untrusted" and store:
        outcomes["untrusted"] = (EXIT_UNTRUSTED, f"UNTRUSTED: {file}: intact, but signed by key "
                                 f"{key}, which is not trusted ({where})")
    if status.state in outcomes or c is None:
        code, text = outcomes[status.state]
        click.echo(text)
        sys.exit(code)
    trusted = (f"by trusted key {status.key_name or key}"
               + (f" (valid until {status.not_after})" if status.not_after else "")
               if status.state == "valid" else "(no trusted key given: integrity only)")
    click.echo(f"VALID: {file}: signed with key {key} {trusted}; content {c.content_hash[:16]}")


COMMANDS = [keygen, sign, verify]
