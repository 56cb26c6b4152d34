"""Identity: the departments' Keystone domain, a project and a group per department, role assignments."""

from __future__ import annotations

from collections.abc import Sequence

import pulumi
import pulumi_openstack as openstack

from egov.model import Department
from stacks.protection import DOMAIN_NAME, GROUP, PROJECT, ROLE_ASSIGNMENT, DepartmentNames, kept

#: Keystone tag prefix naming the department a project belongs to (tags may not contain '/' or ',').
TAG_PREFIX = "department:"


def department_tag(code: str) -> str:
    return f"{TAG_PREFIX}{code}"


def project_description(dept: Department) -> str:
    english = f" ({dept.name_en})" if dept.name_en else ""
    return f"{dept.name}{english} — e-government cloud project of department {dept.code}"


class Identity(pulumi.ComponentResource):
    """A domain for the provincial departments; per department a project, a group and its role assignments.

    The operator running the stack also gets ``operator_role`` on every department project: Swift creates a
    container in the account of the token's project, so the storage component needs a token scoped to it.
    """

    projects: dict[str, openstack.identity.Project]
    groups: dict[str, openstack.identity.GroupV3]

    def __init__(
        self,
        name: str,
        *,
        domain: str,
        departments: Sequence[Department],
        department_roles: Sequence[str],
        operator_role: str,
        opts: pulumi.ResourceOptions | None = None,
    ) -> None:
        super().__init__("egov:stacks:Identity", name, None, opts)
        self.domain = openstack.identity.Project(
            DOMAIN_NAME,
            name=domain,
            is_domain=True,
            description="Provincial departments of the Guangdong e-government cloud (省直部门)",
            opts=kept(self, PROJECT),
        )
        roles = {
            role: openstack.identity.get_role_output(name=role)
            for role in dict.fromkeys([*department_roles, operator_role])
        }
        operator = openstack.identity.get_auth_scope_output(name="operator")
        self.projects, self.groups = {}, {}
        for dept in departments:
            code = dept.code
            names = DepartmentNames(code)
            project = openstack.identity.Project(
                names.project,
                name=code,
                domain_id=self.domain.id,
                description=project_description(dept),
                tags=[department_tag(code)],
                opts=kept(self, PROJECT),
            )
            group = openstack.identity.GroupV3(
                names.group,
                name=f"{code}-users",
                domain_id=self.domain.id,
                description=f"Users of {dept.name} ({code})",
                opts=kept(self, GROUP),
            )
            for role in department_roles:
                openstack.identity.RoleAssignment(
                    names.group_role(role),
                    group_id=group.id,
                    project_id=project.id,
                    role_id=roles[role].id,
                    opts=kept(self, ROLE_ASSIGNMENT),
                )
            openstack.identity.RoleAssignment(
                names.operator_role(operator_role),
                user_id=operator.user_id,
                project_id=project.id,
                role_id=roles[operator_role].id,
                opts=kept(self, ROLE_ASSIGNMENT),
            )
            self.projects[code], self.groups[code] = project, group
        self.register_outputs(
            {
                "domain_id": self.domain.id,
                "project_ids": {code: project.id for code, project in self.projects.items()},
                "group_ids": {code: group.id for code, group in self.groups.items()},
            }
        )
