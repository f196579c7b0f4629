"""Resolve CloudFormation intrinsic functions against what the local cloud has created."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from typing import Any

from localcloud.template import TemplateError

_SUB = re.compile(r"\$\{([^}!]+)\}")


class Resolver:
    def __init__(
        self,
        *,
        parameters: dict[str, Any],
        pseudo: dict[str, str],
        ref: Callable[[str], Any],
        get_att: Callable[[str, str], Any],
        conditions: dict[str, bool] | None = None,
    ) -> None:
        self.parameters = parameters
        self.pseudo = pseudo
        self._ref = ref
        self._get_att = get_att
        self.conditions = conditions or {}

    def ref(self, name: str) -> Any:
        if name in self.pseudo:
            return self.pseudo[name]
        if name in self.parameters:
            return self.parameters[name]
        return self._ref(name)

    def resolve(self, value: Any) -> Any:
        if isinstance(value, list):
            return [self.resolve(v) for v in value if v != {"Ref": "AWS::NoValue"}]
        if not isinstance(value, dict):
            return value
        if len(value) == 1:
            ((key, arg),) = value.items()
            if key == "Ref":
                return self.ref(arg)
            if key.startswith("Fn::") or key == "Condition":
                return self._fn(key, arg)
        return {k: self.resolve(v) for k, v in value.items() if v != {"Ref": "AWS::NoValue"}}

    def _fn(self, key: str, arg: Any) -> Any:
        if key == "Fn::GetAtt":
            logical, attr = arg if isinstance(arg, list) else arg.split(".", 1)
            return self._get_att(logical, self.resolve(attr))
        if key == "Fn::Sub":
            if isinstance(arg, list):
                text, variables = arg[0], {k: self.resolve(v) for k, v in arg[1].items()}
            else:
                text, variables = arg, {}
            return _SUB.sub(lambda m: str(self._sub_var(m.group(1), variables)), text).replace("${!", "${")
        if key == "Fn::Join":
            sep, items = arg
            return sep.join(str(i) for i in self.resolve(items))
        if key == "Fn::Select":
            index, items = arg
            return self.resolve(items)[int(self.resolve(index))]
        if key == "Fn::Split":
            sep, text = arg
            return str(self.resolve(text)).split(sep)
        if key == "Fn::If":
            cond, yes, no = arg
            return self.resolve(yes if self.conditions.get(cond, False) else no)
        if key == "Fn::Equals":
            a, b = self.resolve(arg)
            return a == b
        if key == "Fn::Not":
            return not self.resolve(arg[0])
        if key == "Fn::And":
            return all(self.resolve(a) for a in arg)
        if key == "Fn::Or":
            return any(self.resolve(a) for a in arg)
        if key == "Condition":
            return self.conditions.get(arg, False)
        if key == "Fn::GetAZs":
            region = self.pseudo["AWS::Region"]
            return [f"{region}a", f"{region}b", f"{region}c"]
        if key == "Fn::ToJsonString":
            return json.dumps(self.resolve(arg))
        raise TemplateError(f"intrinsic function {key} is not supported by the local cloud")

    def _sub_var(self, name: str, variables: dict[str, Any]) -> Any:
        if name in variables:
            return variables[name]
        if "." in name and name.split(".", 1)[0] not in self.parameters:
            logical, attr = name.split(".", 1)
            return self._get_att(logical, attr)
        return self.ref(name)


def dependencies(value: Any) -> set[str]:
    """Logical ids a property value refers to (Ref, GetAtt, ${} in Sub)."""
    found: set[str] = set()
    if isinstance(value, list):
        for v in value:
            found |= dependencies(v)
    elif isinstance(value, dict):
        for k, v in value.items():
            if k == "Ref" and isinstance(v, str):
                found.add(v)
            elif k == "Fn::GetAtt":
                found.add(v[0] if isinstance(v, list) else v.split(".", 1)[0])
            elif k == "Fn::Sub":
                text = v[0] if isinstance(v, list) else v
                for m in _SUB.finditer(text):
                    found.add(m.group(1).split(".", 1)[0])
                if isinstance(v, list):
                    found |= dependencies(v[1])
            else:
                found |= dependencies(v)
    return found
