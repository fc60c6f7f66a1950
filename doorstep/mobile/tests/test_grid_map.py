"""`GET /m/api/grid`: the officer's grids and their houses as GeoJSON for the workspace's map."""

from __future__ import annotations

import pytest

from doorstep.mobile import workspace_views
from doorstep.registry import services as registry_services
from doorstep.registry.choices import PersonCategory
from doorstep.registry.tests.conftest import make_house, new_id

GRID = "/m/api/grid"


@pytest.fixture
def houses(world):
    mine = make_house(world.grid_a)
    registry_services.create_person(
        name="张建华",
        id_number=new_id(),
        category=PersonCategory.RESIDENT,
        household=registry_services.create_household(house=mine),
        relation_to_head="户主",
        phone="13812345678",
    )
    return mine, make_house(world.grid_b), make_house(world.grid_d)


def test_my_grid_and_its_houses_as_points_with_colour_and_address_only(world, houses, client_for):
    mine, neighbours, elsewhere = houses

    response = client_for(world.officer_a).get(GRID)

    assert response.status_code == 200 and response["Cache-Control"].startswith("no-store")
    data = response.json()
    assert data["truncated"] is False
    assert data["grids"]["type"] == data["houses"]["type"] == "FeatureCollection"
    grids, points = data["grids"]["features"], data["houses"]["features"]
    assert {f["properties"]["kind"] for f in grids} == {"grid"} and {
        f["properties"]["kind"] for f in points
    } == {"house"}
    assert [g["properties"]["id"] for g in grids] == [world.grid_a.pk]
    assert grids[0]["geometry"]["type"] == "Polygon" and grids[0]["properties"]["name"] == "西福第1网格"
    assert [p["properties"]["id"] for p in points] == [mine.pk]
    point = points[0]
    assert point["geometry"] == {"type": "Point", "coordinates": [mine.lng, mine.lat]}
    assert point["properties"]["colour"] in {"red", "yellow", "green"}
    assert point["properties"]["label"] == mine.address.full_text
    assert "张建华" not in response.content.decode() and "13812345678" not in response.content.decode()


def test_the_director_sees_the_stations_grids_and_nothing_of_another_station(world, houses, client_for):
    mine, neighbours, elsewhere = houses
    data = client_for(world.director).get(GRID).json()
    assert {g["properties"]["id"] for g in data["grids"]["features"]} == {
        world.grid_a.pk,
        world.grid_b.pk,
        world.grid_c.pk,
    }
    assert {h["properties"]["id"] for h in data["houses"]["features"]} == {mine.pk, neighbours.pk}
    other = client_for(world.director_s2).get(GRID).json()
    assert [h["properties"]["id"] for h in other["houses"]["features"]] == [elsewhere.pk]


def test_the_houses_are_capped(world, houses, client_for, monkeypatch):
    monkeypatch.setattr(workspace_views, "MAX_MAP_HOUSES", 1)
    data = client_for(world.director).get(GRID).json()
    assert len(data["houses"]["features"]) == 1 and data["truncated"] is True


def test_signed_out_401_and_roles_without_the_map_403(world, client, client_for):
    response = client.get(GRID)
    assert response.status_code == 401 and response.json()["code"] == "login"
    for who in ("dispatcher", "patrol", "leader"):
        response = client_for(getattr(world, who)).get(GRID)
        assert response.status_code == 403 and response.json()["detail"]
