"""Browser pages of the consent ledger: a person's own receipts."""

from django.urls import path

from consent import views

app_name = "consent"

urlpatterns = [
    path("receipts/<int:record_id>/", views.receipt, name="receipt"),
    path("receipts/<int:record_id>.json", views.receipt_json, name="receipt_json"),
]
