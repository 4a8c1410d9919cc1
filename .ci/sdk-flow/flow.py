"""A typed flow through possync with the client openapi-python-client generates from its spec.

Ids come back as UUIDs and times as datetimes, with no casts: that is what the spec promises.
Run by .ci/sdk, which type-checks this file with `mypy --strict` first.
"""

import datetime
import sys
from typing import TypeVar
from uuid import UUID

from possync_client import AuthenticatedClient, Client
from possync_client.api.auth import login, register
from possync_client.api.businesses import create_business, create_dish
from possync_client.api.orders import create_order, get_order
from possync_client.api.pos import connect_pos, get_sync_history
from possync_client.models import (
    ConnectRequest,
    CreateBusinessRequest,
    CreateDishRequest,
    CreateOrderRequest,
    ErrorEnvelope,
    LoginRequest,
    OrderItemRequest,
    Provider,
    RegisterRequest,
    SyncLog,
)

T = TypeVar("T")


def ok(answer: T | ErrorEnvelope | None) -> T:
    """The data envelope of a successful answer; anything else stops the flow."""
    if answer is None or isinstance(answer, ErrorEnvelope):
        sys.exit(f"possync refused: {answer}")
    return answer


def main(base: str) -> None:
    anonymous = Client(base_url=base)
    credentials = {"email": "sdk@possync.test", "password": "sdk-password-1"}
    seller = ok(register.sync(client=anonymous, body=RegisterRequest(**credentials))).data.seller
    assert isinstance(seller.id, UUID)
    session = ok(login.sync(client=anonymous, body=LoginRequest(**credentials))).data
    assert session.expires_at > datetime.datetime.now(datetime.timezone.utc)
    client = AuthenticatedClient(base_url=base, token=session.token)

    business = ok(
        create_business.sync(client=client, body=CreateBusinessRequest(name="Spice Garden"))
    ).data.business
    assert business.seller_id == seller.id
    dish = ok(
        create_dish.sync(
            business.id, client=client, body=CreateDishRequest(name="Masala Dosa", price=12000)
        )
    ).data.dish
    ok(
        connect_pos.sync(
            client=client,
            body=ConnectRequest(
                business_id=business.id,
                provider=Provider.SQUARE,
                access_token="EAAAl-sdk-flow",
                location_id="L-SDK",
                token_expires_at=datetime.datetime(2030, 1, 1, tzinfo=datetime.timezone.utc),
            ),
        )
    )

    created = ok(
        create_order.sync(
            client=client,
            body=CreateOrderRequest(
                business_id=business.id,
                customer_name="Rahul Kumar",
                items=[OrderItemRequest(dish_id=dish.id, quantity=2)],
            ),
        )
    ).data
    assert created.order.total == 24000
    assert isinstance(created.sync_log, SyncLog), created.sync_log
    fetched = ok(get_order.sync(created.order.id, client=client)).data
    assert isinstance(fetched.sync_log, SyncLog)
    assert fetched.sync_log.order_id == created.order.id

    history = ok(get_sync_history.sync(business.id, client=client)).data
    logs: list[SyncLog] = history.logs
    assert [log.id for log in logs] == [created.sync_log.id], logs
    assert all(isinstance(log.created_at, datetime.datetime) for log in logs)
    print(f"sdk flow: seller {seller.id}, order {created.order.id}, {history.total} sync log(s)")


if __name__ == "__main__":
    main(sys.argv[1])
