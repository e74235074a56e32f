"""Browser pages of the consent ledger: a person's own receipts, and the terms documents."""

from django.urls import path

from consent import views

app_name = "consent"

urlpatterns = [
    path("receipts/<int:record_id>/", views.receipt, name="receipt"),
    path("receipts/<int:record_id>.json", views.receipt_json, name="receipt_json"),
    path("receipts/<int:record_id>.jws", views.receipt_jws, name="receipt_jws"),
    path("terms/<str:sha256>/", views.terms_document, name="terms"),
]
