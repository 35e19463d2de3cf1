from credsync.types import Secret
from credsync.vault.drafts import make_draft


def test_add_and_reveal(world):
    client = world.vault.clients.add(world.admin, world.keys, "Contoso")
    draft = make_draft(title="DC admin", password=Secret("Pa55word!x"), username="CONTOSO\\admin")
    cred = world.vault.credentials.add(world.admin, world.keys, client.name, draft)
    revealed = world.vault.credentials.reveal(world.admin, world.keys, cred.id)
    assert revealed.password.reveal() == "Pa55word!x"
    assert world.vault.audit.verify(world.admin).ok
