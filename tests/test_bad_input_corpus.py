"""The bad-input corpus (tests/corpus) through every endpoint and command that takes it.

For each case and each way in: a 4xx (the CLI: exit status 2) whose message says
what is wrong, the server still answering ``/health``, and not one row or photo
written. Failures are collected and reported together, so one run shows every hole.
"""

from __future__ import annotations

import json
import tarfile
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import Engine, func, select
from typer.testing import CliRunner

import cli.common
import cli.disputes
import cli.main
from layers.importers.municipalities import import_municipalities
from layers.schema import metadata
from tests import corpus
from tests.conftest import Database
from tests.geometries import municipality, write_collection
from tests.helpers import run_linde

EAST = [[-96.70, 17.05], [-96.65, 17.05], [-96.65, 17.10], [-96.70, 17.10], [-96.70, 17.05]]
ZONE = [[-96.71, 17.06], [-96.69, 17.06], [-96.69, 17.08], [-96.71, 17.08], [-96.71, 17.06]]
POINT = {"type": "Point", "coordinates": [-96.72, 17.07]}
MB = 1024 * 1024
OBSERVATION = {"observed_at": "2026-01-05T10:00:00-06:00", "category": "solid_waste", "severity": 2}


def new_inspection() -> dict[str, Any]:
    """A good inspection with a new id."""
    return {"id": str(uuid.uuid4()), "geometry": POINT, "properties": OBSERVATION}


# --- what "nothing written" means --------------------------------------------------


def snapshot(engine: Engine, photos: Path | None) -> dict[str, int]:
    """Rows in every table, and photo files on disk."""
    with engine.connect() as conn:
        counts = {
            t.name: conn.execute(select(func.count()).select_from(t)).scalar_one()
            for t in metadata.sorted_tables
        }
    counts["photo files"] = sum(1 for p in photos.rglob("*") if p.is_file()) if photos else 0
    return counts


@dataclass
class Seeded:
    db: Database
    zone_id: int
    inspection_id: str
    failures: list[str] = field(default_factory=list)

    def http(self, role: str = "admin") -> httpx.Client:
        return self.db.client(role)

    def etag(self) -> str:
        with self.http() as http:
            return str(http.get(f"/disputes/{self.zone_id}").json()["etag"])

    def check(
        self,
        what: str,
        response: httpx.Response,
        expect: str,
        statuses: tuple[int, ...] = (400, 413, 422),
    ) -> None:
        """Record a failure unless ``response`` is a refusal holding ``expect``."""
        text = response.text.lower()
        if response.status_code not in statuses or expect.lower() not in text:
            self.failures.append(f"{what}: {response.status_code} {response.text[:300]}")

    def report(self) -> None:
        assert not self.failures, (
            f"{len(self.failures)} case(s) not refused as they should be:\n"
            + "\n".join(self.failures)
        )


@pytest.fixture
def seeded(api: Database, tmp_path: Path) -> Iterator[Seeded]:
    """Two municipalities, a disputed zone between them, one inspection; then the
    test checks nothing more is ever written and the server is still well."""
    write_collection(
        tmp_path / "m.geojson",
        [
            municipality("20067", "Oaxaca de Juárez"),
            municipality("20157", "San Jacinto Amilpas", EAST),
        ],
    )
    import_municipalities(api.engine, tmp_path / "m.geojson", actor="test")
    with api.client("commission") as http:
        zone = http.post(
            "/disputes",
            json={
                "name": "Los Sauces",
                "parties": ["20067", "20157"],
                "geometry": {"type": "Polygon", "coordinates": [ZONE]},
            },
        )
        assert zone.status_code == 201, zone.text
    with api.client("inspector") as http:
        made = http.post("/inspections", json=new_inspection())
        assert made.status_code == 201, made.text
    seeded = Seeded(api, zone.json()["id"], made.json()["id"])
    before = snapshot(api.engine, api.photos_dir)
    yield seeded
    with api.client() as http:
        assert http.get("/health").status_code == 200
    assert snapshot(api.engine, api.photos_dir) == before, "a refused request wrote something"


# --- geometries through the API ----------------------------------------------------


def geometry_ways_in(s: Seeded, geometry_text: str) -> list[tuple[str, str, str, dict[str, str]]]:
    """(name, path, JSON body, headers) of every endpoint that takes a polygon."""
    g = geometry_text
    return [
        (
            "POST /claims",
            "/claims",
            '{"cvegeo": "20067", "source": "survey", "geometry": ' + g + "}",
            {},
        ),
        (
            "POST /disputes",
            "/disputes",
            '{"name": "Ejidal", "parties": ["20067", "20157"], "geometry": ' + g + "}",
            {},
        ),
        (
            "proposal event",
            f"/disputes/{s.zone_id}/events",
            '{"kind": "proposal", "summary": "línea propuesta", "geometry": ' + g + "}",
            {"If-Match": s.etag()},
        ),
        (
            "decision part",
            f"/disputes/{s.zone_id}/decision",
            '{"parts": [{"cvegeo": "20067", "geometry": ' + g + "}]}",
            {"If-Match": s.etag()},
        ),
    ]


def post_json(
    http: httpx.Client, path: str, text: str | bytes, headers: dict[str, str]
) -> httpx.Response:
    return http.post(path, content=text, headers={"Content-Type": "application/json", **headers})


@pytest.mark.parametrize("case", corpus.POLYGONS, ids=lambda c: c.name)
def test_bad_polygons_are_refused_by_every_endpoint(seeded: Seeded, case: corpus.Case) -> None:
    with seeded.http("admin") as http:
        for name, path, body, headers in geometry_ways_in(seeded, case.text):
            response = post_json(http, path, body, headers)
            seeded.check(f"{name} {case.name}", response, case.expect, (422,))
            seeded.check(f"{name} {case.name} names the field", response, "geometry", (422,))
    seeded.report()


@pytest.mark.usefixtures("cli_engine")
@pytest.mark.parametrize("case", corpus.POINTS, ids=lambda c: c.name)
def test_bad_points_are_refused_by_capture_and_import(
    seeded: Seeded, case: corpus.Case, tmp_path: Path
) -> None:
    properties = OBSERVATION
    with seeded.http("inspector") as http:
        body = (
            '{"id": "'
            + str(uuid.uuid4())
            + '", "geometry": '
            + case.text
            + ', "properties": '
            + json.dumps(properties)
            + "}"
        )
        seeded.check(
            f"POST /inspections {case.name}",
            post_json(http, "/inspections", body, {}),
            case.expect,
            (422,),
        )
        multipart = http.post(
            "/inspections",
            data={"inspection": body},
            files={"photos": ("foto.png", _png(), "image/png")},
        )
        seeded.check(f"POST /inspections (multipart) {case.name}", multipart, case.expect, (422,))
        text = corpus.feature_collection(case.text, properties, good=POINT)
        upload = http.post("/inspections/import", files={"file": ("puntos.geojson", text.encode())})
        seeded.check(f"POST /inspections/import {case.name}", upload, case.expect, (422,))
        seeded.check(f"POST /inspections/import {case.name} names row 2", upload, '"row":2', (422,))
    path = tmp_path / "puntos.geojson"
    path.write_text(corpus.feature_collection(case.text, properties, good=POINT))
    cli_refuses(
        seeded,
        f"linde import inspections {case.name}",
        ["import", "inspections", str(path)],
        case.expect,
    )
    seeded.report()


# --- geometries in files, through the CLI ------------------------------------------


@dataclass(frozen=True)
class FileCommand:
    name: str
    args: list[str]  # FILE is replaced by the path
    properties: dict[str, Any]
    good: dict[str, Any] | None = None


POLYGON_COMMANDS = [
    FileCommand(
        "import municipalities",
        ["import", "municipalities", "FILE"],
        {"cvegeo": "20067", "nom_agem": "Oaxaca de Juárez"},
    ),
    FileCommand(
        "import localities",
        ["import", "localities", "FILE"],
        {"cvegeo": "200670001", "nom_loc": "Oaxaca de Juárez"},
    ),
    FileCommand(
        "claims add",
        ["claims", "add", "20067", "FILE", "--source", "survey"],
        {"nota": "levantamiento"},
    ),
]
RIVER_COMMAND = FileCommand(
    "import rivers",
    ["import", "rivers", "FILE"],
    {"name": "Atoyac"},
    good={"type": "LineString", "coordinates": [[-96.75, 17.05], [-96.7, 17.1]]},
)
FILE_COMMANDS = [
    *POLYGON_COMMANDS,
    RIVER_COMMAND,
    FileCommand("import inspections", ["import", "inspections", "FILE"], {}),
]


@pytest.fixture
def cli_engine(monkeypatch: pytest.MonkeyPatch, seeded: Seeded) -> None:
    """Commands run in this process (Typer's runner) against the test database."""
    for module in (cli.common, cli.main, cli.disputes):
        monkeypatch.setattr(module, "ready_engine", lambda: seeded.db.engine)


def cli_refuses(s: Seeded, what: str, args: list[str], expect: str) -> None:
    result = CliRunner().invoke(cli.main.app, args)
    text = " ".join(result.output.split()).lower()
    if result.exit_code != 2 or expect.lower() not in text:
        s.failures.append(
            f"{what}: exit {result.exit_code}, {result.output[-400:]!r} {result.exception!r}"
        )


def _args(command: FileCommand, path: Path) -> list[str]:
    return [str(path) if a == "FILE" else a for a in command.args]


@pytest.mark.usefixtures("cli_engine")
@pytest.mark.parametrize("case", corpus.POLYGONS, ids=lambda c: c.name)
def test_bad_polygons_in_files_are_refused_by_every_command(
    seeded: Seeded, case: corpus.Case, tmp_path: Path
) -> None:
    for command in POLYGON_COMMANDS:
        path = tmp_path / f"{command.name.replace(' ', '_')}.geojson"
        path.write_text(
            corpus.feature_collection(
                case.text, command.properties, good_properties=_other(command.properties)
            )
        )
        cli_refuses(
            seeded, f"linde {command.name} {case.name}", _args(command, path), case.expect_in_file()
        )
    seeded.report()


@pytest.mark.usefixtures("cli_engine")
@pytest.mark.parametrize("case", corpus.LINES, ids=lambda c: c.name)
def test_bad_river_lines_are_refused(seeded: Seeded, case: corpus.Case, tmp_path: Path) -> None:
    path = tmp_path / "rios.geojson"
    path.write_text(
        corpus.feature_collection(
            case.text,
            {"name": "Salado"},
            good=RIVER_COMMAND.good,
            good_properties={"name": "Atoyac"},
        )
    )
    cli_refuses(
        seeded,
        f"linde import rivers {case.name}",
        _args(RIVER_COMMAND, path),
        case.expect_in_file(),
    )
    seeded.report()


def _other(properties: dict[str, Any]) -> dict[str, Any]:
    """The good first feature's properties: another key where keys must be unique."""
    if properties.get("cvegeo") == "20067":
        return {**properties, "cvegeo": "20157", "nom_agem": "San Jacinto Amilpas"}
    if properties.get("cvegeo") == "200670001":
        return {**properties, "cvegeo": "200670002"}
    return properties


@pytest.mark.bulk
@pytest.mark.usefixtures("cli_engine")
def test_a_million_vertices(seeded: Seeded, tmp_path: Path) -> None:
    text = corpus.million_vertex_polygon()
    with seeded.http("admin") as http:
        for name, url, body, headers in geometry_ways_in(seeded, text):
            seeded.check(
                f"{name} million vertices",
                post_json(http, url, body, headers),
                "larger than this endpoint accepts",
                (413,),
            )
    for command in POLYGON_COMMANDS:
        path = tmp_path / f"{command.name.replace(' ', '_')}.geojson"
        path.write_text(
            corpus.feature_collection(
                text, command.properties, good_properties=_other(command.properties)
            )
        )
        cli_refuses(
            seeded,
            f"linde {command.name} million vertices",
            _args(command, path),
            "1,000,001 vertices; the limit is 250,000",
        )
    seeded.report()


# --- bodies --------------------------------------------------------------------------


def body_routes(seeded: Seeded, media_type: str | None = None) -> list[tuple[str, str]]:
    """(method, path) of every route taking a body (of ``media_type`` if given: the
    sign-in pages take forms, the inspections import a file), from Linde's OpenAPI
    document."""
    with seeded.http() as http:
        paths = http.get("/openapi.json").json()["paths"]
    ids = {
        "zone_id": str(seeded.zone_id),
        "inspection_id": seeded.inspection_id,
        "name": "planner-user",
        "claim_id": "1",
    }
    routes = []
    for template, operations in paths.items():
        for method, operation in operations.items():
            if method not in ("post", "put", "patch") or "requestBody" not in operation:
                continue
            if media_type is None or media_type in operation["requestBody"]["content"]:
                path = template
                for key, value in ids.items():
                    path = path.replace("{" + key + "}", value)
                assert "{" not in path, f"no id for {template}"
                routes.append((method.upper(), path))
    assert len(routes) >= 14, routes
    return routes


@pytest.mark.bulk
def test_a_100_mb_body_gets_413_everywhere(seeded: Seeded) -> None:
    big = b'{"geometry": "' + b"x" * (100 * MB) + b'"}'
    with seeded.http("admin") as http:
        for method, path in body_routes(seeded):
            kind = (
                "multipart/form-data; boundary=x"
                if path == "/inspections/import"
                else "application/json"
            )
            response = http.request(method, path, content=big, headers={"Content-Type": kind})
            seeded.check(
                f"{method} {path} 100 MB", response, "larger than this endpoint accepts", (413,)
            )

        def chunks() -> Iterator[bytes]:  # no Content-Length: counted as it arrives
            for i in range(0, len(big), MB):
                yield big[i : i + MB]

        response = http.post(
            "/claims", content=chunks(), headers={"Content-Type": "application/json"}
        )
        seeded.check(
            "POST /claims 100 MB chunked", response, "larger than this endpoint accepts", (413,)
        )
        photo = b"\xff\xd8\xff\xe0" + bytes(100 * MB)
        response = http.post(
            "/inspections",
            data={"inspection": "{}"},
            files={"photos": ("foto.jpg", photo, "image/jpeg")},
        )
        seeded.check("POST /inspections 100 MB photo", response, "limit", (413, 422))
    seeded.report()


def test_truncated_json_bodies(seeded: Seeded) -> None:
    whole = json.dumps(
        {
            "cvegeo": "20067",
            "source": "survey",
            "name": "x",
            "kind": "note",
            "status": "open",
            "geometry": {"type": "Polygon", "coordinates": [corpus.SQUARE]},
        }
    )
    with seeded.http("admin") as http:
        # the file upload (/inspections/import) has its truncated files in the file corpus
        for method, path in body_routes(seeded, "application/json"):
            headers = {"If-Match": seeded.etag()} if path.startswith("/disputes/") else {}
            response = http.request(
                method,
                path,
                content=corpus.truncated(whole),
                headers={"Content-Type": "application/json", **headers},
            )
            seeded.check(f"{method} {path} truncated JSON", response, "json", (400, 422))
        # the sign-in pages take forms: one cut short lacks a field, and says which
        for path, form in (
            ("/entrar", "nombre=admin&contrasena=secreta"),
            ("/cuenta/contrasena", "actual=vieja&nueva=nueva-clave&repetida=nueva-clave"),
        ):
            cut = form[: form.rfind("&")]
            missing = form[form.rfind("&") + 1 : form.rfind("=")]
            response = http.post(
                path,
                content=cut,
                headers={"Content-Type": "application/x-www-form-urlencoded"},
            )
            seeded.check(f"POST {path} truncated form", response, missing, (400, 422))
    seeded.report()


# --- files ---------------------------------------------------------------------------


@dataclass(frozen=True)
class BadFile:
    name: str
    file_name: str
    expect: str


def make_file(kind: str, folder: Path, properties: dict[str, Any]) -> tuple[Path, str]:
    """Write one bad file of ``kind``; return its path and what its refusal must say."""
    folder.mkdir(parents=True, exist_ok=True)
    good = corpus.feature_collection(
        '{"type": "Polygon", "coordinates": [' + json.dumps(corpus.SQUARE) + "]}", properties
    )
    if kind == "truncated_geojson":
        path = folder / "datos.geojson"
        path.write_text(corpus.truncated(good))
        return path, "not a geodata file linde can read"
    if kind == "zip_bomb":
        return corpus.zip_bomb(folder / "datos.zip"), "zip bomb"
    if kind == "nested_zip":
        return corpus.nested_zip(folder / "datos.zip"), "another zip"
    if kind == "shapefile_without_dbf":
        return corpus.shapefile_without_dbf(folder / "shp", properties, zipped=False), "no .dbf"
    if kind == "zipped_shapefile_without_dbf":
        return corpus.shapefile_without_dbf(folder / "zshp", properties, zipped=True), "no .dbf"
    if kind == "executable":
        path = folder / "datos.geojson"
        path.write_bytes(corpus.ELF)
        return path, "not a geodata file linde can read"
    if kind == "empty":
        path = folder / "datos.geojson"
        path.write_bytes(b"")
        return path, "empty"
    raise AssertionError(kind)


GEO_FILES = [
    "truncated_geojson",
    pytest.param("zip_bomb", marks=pytest.mark.bulk),
    "nested_zip",
    "shapefile_without_dbf",
    "zipped_shapefile_without_dbf",
    "executable",
    "empty",
]


@pytest.mark.usefixtures("cli_engine")
@pytest.mark.parametrize("kind", GEO_FILES)
def test_bad_geodata_files_are_refused_by_every_command(
    seeded: Seeded, kind: str, tmp_path: Path
) -> None:
    for command in [*POLYGON_COMMANDS, RIVER_COMMAND]:
        path, expect = make_file(
            kind, tmp_path / command.name.replace(" ", "_"), command.properties
        )
        cli_refuses(seeded, f"linde {command.name} {kind}", _args(command, path), expect)
    seeded.report()


INSPECTIONS_HEADER = "lon,lat,observed_at,category,severity"
INSPECTIONS_ROW = "-96.72,17.07,2026-01-05T10:00:00-06:00,solid_waste,2"
METRO_HEADER = "CVE_ZONA,NOM_ZONA,CVEGEO,NOMGEO,TIPOMET"
METRO_ROW = "20.1.01,Oaxaca,20067,Oaxaca de Juárez,Central"


def table_files(header: str, row: str) -> dict[str, tuple[str, bytes, str]]:
    """name: (file name, content, what the refusal must say)."""
    return {
        "broken_quoting": (
            "tabla.csv",
            corpus.broken_quoting_csv(header, row).encode(),
            "eof inside string",
        ),
        "utf16": ("tabla.csv", corpus.utf16_csv(header, row), "utf-16"),
        "executable": ("tabla.csv", corpus.ELF, "binary data"),
        "zip_bomb_as_table": ("tabla.csv", b"", "zip archive"),
        "truncated_geojson": (
            "tabla.geojson",
            corpus.truncated(
                corpus.feature_collection(
                    json.dumps(POINT), {"category": "solid_waste"}, good=POINT
                )
            ).encode(),
            "not a geojson",
        ),
        "empty": ("tabla.csv", b"", "empty"),
    }


@pytest.mark.usefixtures("cli_engine")
def test_bad_tables_are_refused_over_http_and_by_the_cli(seeded: Seeded, tmp_path: Path) -> None:
    bomb = corpus.zip_bomb(tmp_path / "bomb.zip").read_bytes()
    for command, header, row in (
        (["import", "inspections"], INSPECTIONS_HEADER, INSPECTIONS_ROW),
        (["import", "metro-zones"], METRO_HEADER, METRO_ROW),
    ):
        for name, (file_name, content, expect) in table_files(header, row).items():
            if command[1] == "metro-zones" and file_name.endswith(".geojson"):
                continue
            data = bomb if name == "zip_bomb_as_table" else content
            path = tmp_path / name / file_name
            path.parent.mkdir(exist_ok=True)
            path.write_bytes(data)
            cli_refuses(seeded, f"linde {' '.join(command)} {name}", [*command, str(path)], expect)
            if command[1] == "inspections":
                with seeded.http("inspector") as http:
                    response = http.post("/inspections/import", files={"file": (file_name, data)})
                seeded.check(f"POST /inspections/import {name}", response, expect, (422,))
    seeded.report()


def _png() -> bytes:
    import io

    from PIL import Image

    buffer = io.BytesIO()
    Image.new("RGB", (4, 4), (200, 30, 30)).save(buffer, "PNG")
    return buffer.getvalue()


def test_photos_that_are_not_images(seeded: Seeded) -> None:
    jpeg_start = b"\xff\xd8\xff\xe0\x00\x10JFIF\x00"
    cases = {
        "executable named .jpg": (("foto.jpg", corpus.ELF, "image/jpeg"), "not a jpeg, png"),
        "html named .png": (
            ("foto.png", b"<html><script>alert(1)</script></html>", "image/png"),
            "not a jpeg, png",
        ),
        "truncated jpeg": (("foto.jpg", jpeg_start + bytes(50), "image/jpeg"), "not a readable"),
        "truncated png": (("foto.png", _png()[:40], "image/png"), "not a readable"),
        "empty": (("foto.jpg", b"", "image/jpeg"), "empty"),
        "too big": (("foto.jpg", jpeg_start + bytes(11 * MB), "image/jpeg"), "the limit is"),
    }
    with seeded.http("inspector") as http:
        for name, (upload, expect) in cases.items():
            body = json.dumps(new_inspection())
            response = http.post(
                "/inspections", data={"inspection": body}, files={"photos": upload}
            )
            seeded.check(f"photo {name}", response, expect, (413, 422))
            seeded.check(f"photo {name} names the field", response, "photos[0]", (413, 422))
    seeded.report()


def test_restore_refuses_files_that_are_not_backups(seeded: Seeded, tmp_path: Path) -> None:
    """``linde restore --replace`` on a broken backup leaves the database as it was."""
    good = tmp_path / "linde.tar"
    made = run_linde(seeded.db.url, "backup", good)
    assert made.returncode == 0, made.stderr
    truncated = tmp_path / "truncated.tar"
    truncated.write_bytes(good.read_bytes()[: good.stat().st_size // 3])
    executable = tmp_path / "programa.tar"
    executable.write_bytes(corpus.ELF)
    empty_tar = tmp_path / "empty.tar"
    with tarfile.open(empty_tar, "w"):
        pass
    for path in (truncated, executable, empty_tar):
        result = run_linde(seeded.db.url, "restore", path, "--replace")
        text = " ".join((result.stdout + result.stderr).split()).lower()
        if result.returncode != 2 or "backup" not in text or "traceback" in text:
            seeded.failures.append(f"restore {path.name}: exit {result.returncode} {text[-300:]}")
    seeded.report()
