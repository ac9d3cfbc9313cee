"""A component that runs JavaScript in the browser each time a state var changes: how a page
keeps what lies outside Reflex's tree (the document's language, a toast) in step with its
state. It renders nothing of its own."""

from __future__ import annotations

from typing import Any

from reflex_base.utils.imports import ImportDict, ImportVar
from reflex_base.vars.base import Var, VarData
from reflex_components_core.base.fragment import Fragment


class OnChange(Fragment):
    """Runs `run` (JavaScript statements) in a React useEffect whenever `watch` changes."""

    watch: Var[Any]
    run: Var[Any]

    def add_hooks(self) -> list[str | Var]:
        return [
            Var(
                f"useEffect(() => {{ {self.run} }}, [{self.watch}])",
                _var_data=VarData.merge(
                    self.watch._get_all_var_data(),
                    self.run._get_all_var_data(),
                    VarData(imports={"react": [ImportVar(tag="useEffect")]}),
                ),
            )
        ]

    def _exclude_props(self) -> list[str]:
        # What the hook uses, not props of the fragment.
        return [*super()._exclude_props(), "watch", "run"]


def on_change(watch: Var, run: str, *uses: Var, imports: ImportDict | None = None) -> OnChange:
    """Runs `run` each time `watch` changes; `uses`: the vars `run` names (their state comes
    along), `imports`: what else it needs (`{"$/utils/state": [ImportVar(tag="refs")]}`)."""
    needs = [var._get_all_var_data() for var in uses]
    return OnChange.create(
        watch=watch,
        run=Var(run, _var_data=VarData.merge(*needs, VarData(imports=imports or {}))),
    )
