from django.core.management.base import BaseCommand, CommandError

from leadline.accounts.models import Business
from leadline.accounts.services import api_token_create, api_token_revoke
from leadline.core.errors import NotFound


class Command(BaseCommand):
    help = "Issue or revoke Leads API tokens."

    def add_arguments(self, parser):
        sub = parser.add_subparsers(dest="action", required=True)
        create = sub.add_parser("create", help="issue a token (printed once)")
        create.add_argument("--business", required=True, type=int, help="business id")
        create.add_argument("--name", default="", help="a label for the token")
        revoke = sub.add_parser("revoke", help="revoke a token by its prefix")
        revoke.add_argument("prefix")

    def handle(self, *args, action, **options):
        if action == "create":
            business = Business.objects.filter(pk=options["business"]).first()
            if business is None:
                raise CommandError(f"No business with id {options['business']}.")
            issued = api_token_create(business=business, name=options["name"])
            self.stdout.write(issued.secret)
            self.stderr.write(
                f"Token {issued.token.prefix} for {business.name}; it is not shown again."
            )
        else:
            try:
                token = api_token_revoke(prefix=options["prefix"])
            except NotFound as exc:
                raise CommandError(exc.detail) from None
            self.stdout.write(f"Revoked token {token.prefix} of {token.business.name}.")
