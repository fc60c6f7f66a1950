"""House vector tiles: content decoded by an independent MVT decoder, scoping, filters, caching and its
invalidation, aggregation when zoomed out, bad tile addresses."""

from __future__ import annotations

import itertools

import mapbox_vector_tile
import pytest
from django.core.cache import caches
from django.db import connection
from django.test.utils import CaptureQueriesContext

from doorstep.core import tilecache
from doorstep.maps import mvt, tiles
from doorstep.registry import services
from doorstep.registry.choices import HouseStructure, Occupancy, PersonCategory, PropertyType
from doorstep.registry.tests.conftest import footprint, new_id

_n = itertools.count(1)


@pytest.fixture(autouse=True)
def _empty_tile_cache():
    caches["tiles"].clear()


def house_at(grid, lng, lat, *, occupancy=Occupancy.OWNER, floors=3, size=0.0002, by=None):
    n = next(_n)
    address = services.create_address(
        code=f"T{n:05d}", grid=grid, division_code="350503", street_town="东海街道", road="刺桐路",
        door_number=f"{n}号", lng=lng, lat=lat, by=by,
    )  # fmt: skip
    return services.create_house(
        code=f"TH{n:05d}", address=address, property_type=PropertyType.SELF_BUILT,
        structure=HouseStructure.BRICK_CONCRETE, floors=floors, occupancy=occupancy, owner_name="陈建国",
        footprint=footprint(lng - size / 2, lat - size / 2, size), by=by,
    )  # fmt: skip


def url_for(house, z=16, **params):
    x, y = tilecache.tile_xy(house.lng, house.lat, z)
    query = "&".join(f"{k}={v}" for k, v in params.items())
    return f"/api/v1/map/tiles/houses/{z}/{x}/{y}.mvt" + (f"?{query}" if query else "")


def decode(response) -> dict[int, dict]:
    """Feature id → properties of the houses layer (plus the geometry under '_geometry')."""
    assert response.status_code == 200, response.content
    assert response["Content-Type"] == "application/vnd.mapbox-vector-tile"
    layers = mapbox_vector_tile.decode(response.content, default_options={"y_coord_down": True})
    return {
        f["id"]: {**f["properties"], "_geometry": f["geometry"]}
        for f in layers.get("houses", {}).get("features", [])
    }


# --- the encoder against an independent decoder -----------------------------------------------------------
def test_encoder_round_trips_through_mapbox_vector_tile():
    layer = mvt.Layer("houses")
    assert layer.add_polygon([(10, 10), (10, 20), (20, 20), (20, 10), (10, 10)],
                             {"colour": "red", "floors": 7, "flag": True}, 42)  # fmt: skip
    layer.add_point(100, 200, {"n": 3, "colour": "green"})
    assert not layer.add_polygon([(5, 5), (5, 5), (6, 6)], {}, 1)  # collapses at this zoom: skipped

    decoded = mapbox_vector_tile.decode(mvt.tile([layer]), default_options={"y_coord_down": True})["houses"]

    polygon, point = decoded["features"]
    assert decoded["extent"] == 4096 and decoded["version"] == 2
    assert polygon["id"] == 42 and polygon["properties"] == {"colour": "red", "floors": 7, "flag": True}
    assert polygon["geometry"]["type"] == "Polygon"
    ring = [tuple(p) for p in polygon["geometry"]["coordinates"][0]]
    assert ring[0] == ring[-1] and set(ring) == {(10, 10), (10, 20), (20, 20), (20, 10)}
    assert point["geometry"] == {"type": "Point", "coordinates": [100, 200]}
    assert point["properties"] == {"n": 3, "colour": "green"}


def test_exterior_rings_wind_clockwise_on_screen():
    ccw = [(0, 0), (0, 10), (10, 10), (10, 0)]  # negative area with y down

    ring = mvt.exterior(ccw)

    area = sum(x1 * y2 - x2 * y1 for (x1, y1), (x2, y2) in zip(ring, ring[1:] + ring[:1], strict=True))
    assert area > 0


def test_empty_tile_is_empty_bytes():
    assert mvt.tile([mvt.Layer("houses")]) == b""


# --- tile content -----------------------------------------------------------------------------------------
def test_house_is_in_its_tile_with_colour_floors_and_occupancy(world, client_for):
    house = house_at(world.grid_a, 118.6052, 24.9051, occupancy=Occupancy.GROUP_RENTAL, floors=6)

    features = decode(client_for(world.officer_a).get(url_for(house)))

    assert set(features) == {house.pk}
    props = features[house.pk]
    assert (props["colour"], props["floors"], props["occupancy"], props["grid"]) == (
        "red", 6, "group_rental", world.grid_a.pk)  # fmt: skip
    ring = props["_geometry"]["coordinates"][0]
    assert all(0 <= x <= 4096 and 0 <= y <= 4096 for x, y in ring)


def test_house_is_not_in_a_neighbouring_tile(world, client_for):
    house = house_at(world.grid_a, 118.6052, 24.9051)
    x, y = tilecache.tile_xy(house.lng, house.lat, 18)

    response = client_for(world.director).get(f"/api/v1/map/tiles/houses/18/{x + 3}/{y}.mvt")

    assert decode(response) == {}


def test_footprint_across_a_tile_edge_is_clipped_into_both_tiles(world, client_for):
    box = tiles.TileBox.of(17, *tilecache.tile_xy(118.6052, 24.9051, 17))
    house = house_at(world.grid_a, box.east, 24.9051, size=0.0004)  # centred on the tile's east edge
    client = client_for(world.officer_a)

    west = decode(client.get(f"/api/v1/map/tiles/houses/17/{box.x}/{box.y}.mvt"))
    east = decode(client.get(f"/api/v1/map/tiles/houses/17/{box.x + 1}/{box.y}.mvt"))

    for features in (west, east):
        ring = features[house.pk]["_geometry"]["coordinates"][0]
        assert all(0 <= x <= 4096 and 0 <= y <= 4096 for x, y in ring)
    assert max(x for x, _ in west[house.pk]["_geometry"]["coordinates"][0]) == 4096
    assert min(x for x, _ in east[house.pk]["_geometry"]["coordinates"][0]) == 0


def test_zoomed_out_tiles_aggregate_houses_by_colour(world, client_for):
    a = house_at(world.grid_a, 118.6052, 24.9051, occupancy=Occupancy.GROUP_RENTAL)
    house_at(world.grid_a, 118.60521, 24.90511)
    house_at(world.grid_a, 118.60522, 24.90512)

    response = client_for(world.director).get(url_for(a, z=13))

    layer = mapbox_vector_tile.decode(response.content)["houses"]
    (cell,) = layer["features"]
    assert cell["geometry"]["type"] == "Point"
    assert cell["properties"] == {"n": 3, "red": 1, "yellow": 0, "green": 2, "colour": "red"}


# --- territory and filters --------------------------------------------------------------------------------
def test_tiles_hold_only_the_users_territory(world, client_for):
    mine = house_at(world.grid_a, 118.6099, 24.9051)
    theirs = house_at(world.grid_b, 118.6101, 24.9051)  # the same z16 tile, across the grid boundary
    assert tilecache.tile_xy(mine.lng, mine.lat, 16) == tilecache.tile_xy(theirs.lng, theirs.lat, 16)

    assert set(decode(client_for(world.officer_a).get(url_for(mine)))) == {mine.pk}
    assert set(decode(client_for(world.officer_b).get(url_for(mine)))) == {theirs.pk}
    assert set(decode(client_for(world.director).get(url_for(mine)))) == {mine.pk, theirs.pk}
    assert decode(client_for(world.director_s2).get(url_for(mine))) == {}


def test_filters_apply_to_the_tile(world, client_for):
    red = house_at(world.grid_a, 118.6052, 24.9051, occupancy=Occupancy.GROUP_RENTAL)
    green = house_at(world.grid_a, 118.6053, 24.9052)
    client = client_for(world.director)

    assert set(decode(client.get(url_for(red, colour="red")))) == {red.pk}
    assert set(decode(client.get(url_for(red, colour="green")))) == {green.pk}
    assert set(decode(client.get(url_for(red, occupancy="group_rental")))) == {red.pk}
    assert set(decode(client.get(url_for(red, grid=world.grid_b.pk)))) == set()


@pytest.mark.parametrize(
    ("path", "status", "fragment"),
    [
        ("/api/v1/map/tiles/houses/12/3000/1700.mvt", 404, "缩放级别"),
        ("/api/v1/map/tiles/houses/19/3000/1700.mvt", 404, "缩放级别"),
        ("/api/v1/map/tiles/houses/16/70000/1.mvt", 404, "超出范围"),
        ("/api/v1/map/tiles/houses/16/1/1.mvt?colour=purple", 400, "colour"),
        ("/api/v1/map/tiles/houses/16/1/1.mvt?grid=987654", 400, "grid"),
    ],
)
def test_bad_tile_requests_get_a_detail(world, client_for, path, status, fragment):
    response = client_for(world.director).get(path, HTTP_ACCEPT="application/x-protobuf")

    assert response.status_code == status
    assert fragment in response.json()["detail"]


def test_grid_of_another_station_is_refused_as_a_filter(world, client_for):
    response = client_for(world.director_s2).get(
        f"/api/v1/map/tiles/houses/16/1/1.mvt?grid={world.grid_a.pk}"
    )

    assert response.status_code == 400


def test_anonymous_gets_401(client_for):
    response = client_for(None).get("/api/v1/map/tiles/houses/16/53360/28490.mvt")

    assert response.status_code == 401 and response.json()["detail"]


# --- caching and invalidation -----------------------------------------------------------------------------
def test_second_request_is_served_from_the_cache(world, client_for):
    house = house_at(world.grid_a, 118.6052, 24.9051)
    client = client_for(world.director)
    first = client.get(url_for(house))
    assert first.status_code == 200

    with CaptureQueriesContext(connection) as captured:
        second = client.get(url_for(house))

    assert second.content == first.content and second["ETag"] == first["ETag"]
    assert not any("registry_house" in q["sql"] for q in captured.captured_queries)
    assert client.get(url_for(house), HTTP_IF_NONE_MATCH=first["ETag"]).status_code == 304


def test_a_change_to_a_house_shows_on_the_next_request(world, client_for, django_capture_on_commit_callbacks):
    house = house_at(world.grid_a, 118.6052, 24.9051)
    client = client_for(world.officer_a)
    before = client.get(url_for(house))
    assert decode(before)[house.pk]["colour"] == "green"

    with django_capture_on_commit_callbacks(execute=True):
        services.update_house(house, occupancy=Occupancy.GROUP_RENTAL, by=world.officer_a)
    after = client.get(url_for(house))

    assert decode(after)[house.pk]["colour"] == "red"
    assert after["ETag"] != before["ETag"]


def test_a_listing_recolours_the_house_on_the_map(world, client_for, django_capture_on_commit_callbacks):
    house = house_at(world.grid_a, 118.6052, 24.9051)
    household = services.create_household(house=house, household_no="T1")
    person = services.create_person(name="李四", id_number=new_id(), category=PersonCategory.RESIDENT,
                                    household=household, relation_to_head="户主")  # fmt: skip
    client = client_for(world.director)
    assert decode(client.get(url_for(house)))[house.pk]["colour"] == "green"

    with django_capture_on_commit_callbacks(execute=True):
        concern = services.request_listing(person, concern_type="drugs", reason="前科", by=world.officer_a)
        services.decide_concern(concern, approve=True, by=world.director)

    assert decode(client.get(url_for(house)))[house.pk]["colour"] == "red"


def test_a_change_leaves_other_regions_cached(world, client_for, django_capture_on_commit_callbacks):
    near = house_at(world.grid_a, 118.6052, 24.9051)
    far = house_at(world.grid_c, 118.6352, 24.9351)  # another z15 region
    client = client_for(world.director)
    far_etag = client.get(url_for(far))["ETag"]
    near_etag = client.get(url_for(near))["ETag"]

    with django_capture_on_commit_callbacks(execute=True):
        services.update_house(near, floors=9, by=world.director)

    assert client.get(url_for(far))["ETag"] == far_etag
    assert client.get(url_for(near))["ETag"] != near_etag


def test_a_lost_region_token_never_serves_a_stale_tile(world, client_for):
    house = house_at(world.grid_a, 118.6052, 24.9051)
    client = client_for(world.director)
    client.get(url_for(house))
    caches["tiles"].delete(
        tilecache._region_key(*tilecache.region_of(16, *tilecache.tile_xy(house.lng, house.lat, 16)))
    )
    services.update_house(house, occupancy=Occupancy.GROUP_RENTAL, by=world.director)  # no on-commit here

    assert decode(client.get(url_for(house)))[house.pk]["colour"] == "red"


def test_footprint_far_from_the_house_point_is_refused(world):
    with pytest.raises(services.ServiceError, match="100米"):
        house_at(world.grid_a, 118.6052, 24.9051, size=0.005)


# --- the count beside the map, and the bounded GeoJSON ------------------------------------------------------
def test_summary_counts_what_the_filters_show(world, client_for):
    house_at(world.grid_a, 118.6052, 24.9051, occupancy=Occupancy.GROUP_RENTAL)
    house_at(world.grid_a, 118.6053, 24.9052)
    house_at(world.grid_d, 118.6252, 24.9252)

    director = client_for(world.director).get("/api/v1/map/houses/summary/").json()
    red = client_for(world.director).get("/api/v1/map/houses/summary/?colour=red").json()
    leader = client_for(world.leader).get("/api/v1/map/houses/summary/").json()

    assert director["count"] == 2 and director["colours"] == {"red": 1, "yellow": 0, "green": 1}
    assert red["count"] == 1 and red["bounds"][0] == pytest.approx(118.6052)
    assert leader["count"] == 3


def test_geojson_needs_a_bbox_and_holds_the_territory(world, client_for):
    mine = house_at(world.grid_a, 118.6052, 24.9051)
    house_at(world.grid_b, 118.6152, 24.9051)
    client = client_for(world.officer_a)

    assert client.get("/api/v1/map/houses.geojson").status_code == 400
    body = client.get("/api/v1/map/houses.geojson?bbox=118.5,24.8,118.7,25.0").json()

    assert [f["id"] for f in body["features"]] == [mine.pk]
    assert body["features"][0]["properties"]["colour"] == "green"
