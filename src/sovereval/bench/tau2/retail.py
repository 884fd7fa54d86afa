"""τ²-bench retail tools, re-implemented over :class:`~sovereval.bench.tau2.db.DomainDB` with the
original's semantics as read from ``tau2/domains/retail/tools.py`` (parameters, checks, error messages,
refunds to gift cards, rounding), including its quirks: modifying several items of a pending order gives
every modified item the price and options of the *last* new item; a pending order's payment history is
refunded entry by entry on cancellation; names and emails are matched up to case and accents (the zip
code exactly), as upstream.
"""

from __future__ import annotations

import json
from typing import Any

from sovereval.bench.tau2.db import DomainDB, Record
from sovereval.bench.tau2.toolkit import Toolkit, calculate, fold, tool, with_defaults

ORDER_DEFAULTS = {"cancel_reason": None, "exchange_items": None, "exchange_new_items": None,
                  "exchange_payment_method_id": None, "exchange_price_difference": None, "return_items": None,
                  "return_payment_method_id": None}

_ORDER_ID = "The order id, such as '#W0000000'. Be careful there is a '#' symbol at the beginning of the order id."
_PAYMENT_ID = ("The payment method id to pay or receive refund for the item price difference, such as "
               "'gift_card_0000000' or 'credit_card_0000000'. These can be looked up from the user or order details.")
_ADDRESS = {
    "address1": (str, "The first line of the address, such as '123 Main St'."),
    "address2": (str, "The second line of the address, such as 'Apt 1' or ''."),
    "city": (str, "The city, such as 'San Francisco'."),
    "state": (str, "The state, such as 'CA'."),
    "country": (str, "The country, such as 'USA'."),
    "zip": (str, "The zip code, such as '12345'."),
}


def _order(r: Record) -> Record:
    return with_defaults(r, ORDER_DEFAULTS)


def retail_db(base: dict[str, Any]) -> DomainDB:
    return DomainDB(base, {"orders": _order})


def _address(address1: str, address2: str, city: str, state: str, country: str, zip: str) -> Record:
    return {"address1": address1, "address2": address2, "city": city, "country": country, "state": state, "zip": zip}


def _is_gift_card(method: Record) -> bool:
    return method.get("source") == "gift_card"


class RetailTools(Toolkit):
    domain = "retail"

    # -- lookups -----------------------------------------------------------------------------------
    def _order(self, order_id: str) -> Record:
        if order_id not in self.db.orders:
            raise ValueError("Order not found")
        return self.db.orders.get(order_id)

    def _user(self, user_id: str) -> Record:
        if user_id not in self.db.users:
            raise ValueError("User not found")
        return self.db.users.get(user_id)

    def _product(self, product_id: str) -> Record:
        if product_id not in self.db.products:
            raise ValueError("Product not found")
        return self.db.products.view(product_id)

    def _variant(self, product_id: str, variant_id: str) -> Record:
        product = self._product(product_id)
        if variant_id not in product["variants"]:
            raise ValueError("Variant not found")
        return product["variants"][variant_id]  # type: ignore[no-any-return]

    def _payment_method(self, user_id: str, payment_method_id: str) -> Record:
        user = self._user(user_id)
        if payment_method_id not in user["payment_methods"]:
            raise ValueError("Payment method not found")
        return user["payment_methods"][payment_method_id]  # type: ignore[no-any-return]

    @staticmethod
    def _check_items(order: Record, item_ids: list[str], message: str) -> None:
        present = [item["item_id"] for item in order["items"]]
        for item_id in item_ids:
            if item_ids.count(item_id) > present.count(item_id):
                raise ValueError(message.format(item_id=item_id))

    # -- tools -------------------------------------------------------------------------------------
    @tool("Calculate the result of a mathematical expression.",
          expression=(str, ("The mathematical expression to calculate, such as '2 + 2'. The expression can contain "
                            "numbers, operators (+, -, *, /), parentheses, and spaces.")))
    def calculate(self, expression: str) -> str:
        return calculate(expression)

    @tool("Cancel a pending order. If the order is already processed or delivered, it cannot be cancelled. The agent "
          "needs to explain the cancellation detail and ask for explicit user confirmation (yes/no) to proceed. If the "
          "user confirms, the order status will be changed to 'cancelled' and the payment will be refunded. The refund "
          "will be added to the user's gift card balance immediately if the payment was made using a gift card, "
          "otherwise the refund would take 5-7 business days to process. The function returns the order details "
          "after the cancellation.", mutates=True,
          order_id=(str, _ORDER_ID),
          reason=(str, ("The reason for cancellation, which should be either 'no longer needed' or 'ordered by "
                        "mistake'.")))
    def cancel_pending_order(self, order_id: str, reason: str) -> Record:
        order = self._order(order_id)
        if order["status"] != "pending":
            raise ValueError("Non-pending order cannot be cancelled")
        if reason not in ("no longer needed", "ordered by mistake"):
            raise ValueError("Invalid reason")
        refunds = []
        for payment in order["payment_history"]:
            pid = payment["payment_method_id"]
            refunds.append({"transaction_type": "refund", "amount": payment["amount"], "payment_method_id": pid})
            user = self._user(order["user_id"])
            method = self._payment_method(user["user_id"], pid)
            if _is_gift_card(method):
                method["balance"] = round(method["balance"] + payment["amount"], 2)
        order["status"] = "cancelled"
        order["cancel_reason"] = reason
        order["payment_history"].extend(refunds)
        return order

    @tool("Exchange items in a delivered order to new items of the same product type. For a delivered order, return "
          "or exchange can be only done once by the agent. The agent needs to explain the exchange detail and ask for "
          "explicit user confirmation (yes/no) to proceed.", mutates=True,
          order_id=(str, _ORDER_ID),
          item_ids=(list[str], ("The item ids to be exchanged, each such as '1008292230'. There could be duplicate "
                                "items in the list.")),
          new_item_ids=(list[str], ("The item ids to be exchanged for, each such as '1008292230'. There could be "
                                    "duplicate items in the list. Each new item id should match the item id in the "
                                    "same position and be of the same product.")),
          payment_method_id=(str, _PAYMENT_ID))
    def exchange_delivered_order_items(self, order_id: str, item_ids: list[str], new_item_ids: list[str],
                                       payment_method_id: str) -> Record:
        order = self._order(order_id)
        if order["status"] != "delivered":
            raise ValueError("Non-delivered order cannot be exchanged")
        self._check_items(order, item_ids, "Number of {item_id} not found.")
        if len(item_ids) != len(new_item_ids):
            raise ValueError("The number of items to be exchanged should match.")
        diff = 0.0
        for item_id, new_item_id in zip(item_ids, new_item_ids, strict=True):
            item = next((it for it in order["items"] if it["item_id"] == item_id), None)
            if item is None:
                raise ValueError(f"Item {item_id} not found")
            variant = self._variant(item["product_id"], new_item_id)
            if not variant["available"]:
                raise ValueError(f"New item {new_item_id} not found or available")
            diff += variant["price"] - item["price"]
        diff = round(diff, 2)
        method = self._payment_method(order["user_id"], payment_method_id)
        if _is_gift_card(method) and method["balance"] < diff:
            raise ValueError("Insufficient gift card balance to pay for the price difference")
        order["status"] = "exchange requested"
        order["exchange_items"] = sorted(item_ids)
        order["exchange_new_items"] = sorted(new_item_ids)
        order["exchange_payment_method_id"] = payment_method_id
        order["exchange_price_difference"] = diff
        return order

    @tool("Find user id by first name, last name, and zip code. If the user is not found, the function will return an "
          "error message. By default, find user id by email, and only call this function if the user is not found by "
          "email or cannot remember email.",
          first_name=(str, "The first name of the customer, such as 'John'."),
          last_name=(str, "The last name of the customer, such as 'Doe'."),
          zip=(str, "The zip code of the customer, such as '12345'."))
    def find_user_id_by_name_zip(self, first_name: str, last_name: str, zip: str) -> str:
        first, last = fold(first_name), fold(last_name)
        for user_id, user in self.db.users.scan():
            name = user["name"]
            if fold(name["first_name"]) == first and fold(name["last_name"]) == last and user["address"]["zip"] == zip:
                return user_id
        raise ValueError("User not found")

    @tool("Find user id by email. If the user is not found, the function will return an error message.",
          email=(str, "The email of the user, such as 'something@example.com'."))
    def find_user_id_by_email(self, email: str) -> str:
        wanted = fold(email)
        for user_id, user in self.db.users.scan():
            if fold(user["email"]) == wanted:
                return user_id
        raise ValueError("User not found")

    @tool("Get the status and details of an order.", order_id=(str, _ORDER_ID))
    def get_order_details(self, order_id: str) -> Record:
        return self._order(order_id)

    @tool("Get the inventory details of a product.",
          product_id=(str, ("The product id, such as '6086499569'. Be careful the product id is different from the "
                            "item id.")))
    def get_product_details(self, product_id: str) -> Record:
        return self._product(product_id)

    @tool("Get the inventory details of an item.",
          item_id=(str, ("The item id, such as '6086499569'. Be careful the item id is different from the product "
                         "id.")))
    def get_item_details(self, item_id: str) -> Record:
        for _, product in self.db.products.scan():
            if item_id in product["variants"]:
                return product["variants"][item_id]  # type: ignore[no-any-return]
        raise ValueError("Item not found")

    @tool("Get the details of a user, including their orders.", user_id=(str, "The user id, such as 'sara_doe_496'."))
    def get_user_details(self, user_id: str) -> Record:
        return self._user(user_id)

    @tool("List the name and product id of all product types.\n\nEach product type has a variety of different items "
          "with unique item ids and options. There are only 50 product types in the store.")
    def list_all_product_types(self) -> str:
        return json.dumps({p["name"]: p["product_id"] for _, p in self.db.products.scan()}, sort_keys=True)

    @tool("Modify the shipping address of a pending order. The agent needs to explain the modification detail and ask "
          "for explicit user confirmation (yes/no) to proceed.", mutates=True, order_id=(str, _ORDER_ID), **_ADDRESS)
    def modify_pending_order_address(self, order_id: str, address1: str, address2: str, city: str, state: str,
                                     country: str, zip: str) -> Record:
        order = self._order(order_id)
        if "pending" not in order["status"]:
            raise ValueError("Non-pending order cannot be modified")
        order["address"] = _address(address1, address2, city, state, country, zip)
        return order

    @tool("Modify items in a pending order to new items of the same product type. For a pending order, this function "
          "can only be called once. The agent needs to explain the exchange detail and ask for explicit user "
          "confirmation (yes/no) to proceed.", mutates=True,
          order_id=(str, _ORDER_ID),
          item_ids=(list[str], ("The item ids to be modified, each such as '1008292230'. There could be duplicate items "
                                "in the list.")),
          new_item_ids=(list[str], ("The item ids to be modified for, each such as '1008292230'. There could be "
                                    "duplicate items in the list. Each new item id should match the item id in the "
                                    "same position and be of the same product.")),
          payment_method_id=(str, _PAYMENT_ID))
    def modify_pending_order_items(self, order_id: str, item_ids: list[str], new_item_ids: list[str],
                                   payment_method_id: str) -> Record:
        order = self._order(order_id)
        if order["status"] != "pending":
            raise ValueError("Non-pending order cannot be modified")
        self._check_items(order, item_ids, "{item_id} not found")
        if len(item_ids) != len(new_item_ids):
            raise ValueError("The number of items to be exchanged should match")
        diff = 0.0
        variant: Record = {}
        for item_id, new_item_id in zip(item_ids, new_item_ids, strict=True):
            if item_id == new_item_id:
                raise ValueError("The new item id should be different from the old item id")
            item = next((it for it in order["items"] if it["item_id"] == item_id), None)
            if item is None:
                raise ValueError(f"Item {item_id} not found")
            variant = self._variant(item["product_id"], new_item_id)
            if not variant["available"]:
                raise ValueError(f"New item {new_item_id} not found or available")
            diff += variant["price"] - item["price"]
        method = self._payment_method(order["user_id"], payment_method_id)
        if _is_gift_card(method) and method["balance"] < diff:
            raise ValueError("Insufficient gift card balance to pay for the new item")
        order["payment_history"].append({"transaction_type": "payment" if diff > 0 else "refund", "amount": abs(diff),
                                         "payment_method_id": payment_method_id})
        if _is_gift_card(method):
            method["balance"] = round(method["balance"] - diff, 2)
        for item_id, new_item_id in zip(item_ids, new_item_ids, strict=True):
            item = next((it for it in order["items"] if it["item_id"] == item_id), None)
            if item is None:
                raise ValueError(f"Item {item_id} not found")
            item["item_id"] = new_item_id
            item["price"] = variant["price"]  # the last variant, as upstream
            item["options"] = dict(variant["options"])
        order["status"] = "pending (item modified)"
        return order

    @tool("Modify the payment method of a pending order. The agent needs to explain the modification detail and ask "
          "for explicit user confirmation (yes/no) to proceed.", mutates=True,
          order_id=(str, _ORDER_ID), payment_method_id=(str, _PAYMENT_ID))
    def modify_pending_order_payment(self, order_id: str, payment_method_id: str) -> Record:
        order = self._order(order_id)
        if "pending" not in order["status"]:
            raise ValueError("Non-pending order cannot be modified")
        method = self._payment_method(order["user_id"], payment_method_id)
        history = order["payment_history"]
        if len(history) != 1 or history[0]["transaction_type"] != "payment":
            raise ValueError("There should be exactly one payment for a pending order")
        old_id = history[0]["payment_method_id"]
        if old_id == payment_method_id:
            raise ValueError("The new payment method should be different from the current one")
        amount = history[0]["amount"]
        if _is_gift_card(method) and method["balance"] < amount:
            raise ValueError("Insufficient gift card balance to pay for the order")
        history.extend([{"transaction_type": "payment", "amount": amount, "payment_method_id": payment_method_id},
                        {"transaction_type": "refund", "amount": amount, "payment_method_id": old_id}])
        if _is_gift_card(method):
            method["balance"] = round(method["balance"] - amount, 2)
        old = self._payment_method(order["user_id"], old_id)
        if _is_gift_card(old):
            old["balance"] = round(old["balance"] + amount, 2)
        return order

    @tool("Modify the default address of a user. The agent needs to explain the modification detail and ask for "
          "explicit user confirmation (yes/no) to proceed.", mutates=True,
          user_id=(str, "The user id, such as 'sara_doe_496'."), **_ADDRESS)
    def modify_user_address(self, user_id: str, address1: str, address2: str, city: str, state: str, country: str,
                            zip: str) -> Record:
        user = self._user(user_id)
        user["address"] = _address(address1, address2, city, state, country, zip)
        return user

    @tool("Return some items of a delivered order.\n\nThe order status will be changed to 'return requested'. The agent "
          "needs to explain the return detail and ask for explicit user confirmation (yes/no) to proceed. The user will "
          "receive follow-up email for how and where to return the item.", mutates=True,
          order_id=(str, _ORDER_ID),
          item_ids=(list[str], ("The item ids to be returned, each such as '1008292230'. There could be duplicate items "
                                "in the list.")),
          payment_method_id=(str, ("The payment method id to pay or receive refund for the item price difference, such "
                                   "as 'gift_card_0000000' or 'credit_card_0000000'. These can be looked up from the "
                                   "user or order details.")))
    def return_delivered_order_items(self, order_id: str, item_ids: list[str], payment_method_id: str) -> Record:
        order = self._order(order_id)
        if order["status"] != "delivered":
            raise ValueError("Non-delivered order cannot be returned")
        user = self._user(order["user_id"])
        method = self._payment_method(user["user_id"], payment_method_id)
        if not _is_gift_card(method) and payment_method_id != order["payment_history"][0]["payment_method_id"]:
            raise ValueError("Payment method should be the original payment method")
        self._check_items(order, item_ids, "Some item not found")
        order["status"] = "return requested"
        order["return_items"] = sorted(item_ids)
        order["return_payment_method_id"] = payment_method_id
        return order

    @tool("Transfer the user to a human agent, with a summary of the user's issue.\n\nOnly transfer if\n -  the user "
          "explicitly asks for a human agent\n -  given the policy and the available tools, you cannot solve the "
          "user's issue.", summary=(str, "A summary of the user's issue."))
    def transfer_to_human_agents(self, summary: str) -> str:
        return "Transfer successful"
