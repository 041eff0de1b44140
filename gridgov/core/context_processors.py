from django.conf import settings
from django.http import HttpRequest


def site(request: HttpRequest) -> dict[str, str]:
    return {"county_name": settings.COUNTY_NAME, "county_code": settings.COUNTY_CODE}
