"""Load the default working hours and the 2026 and 2027 public holidays and make-up working days.

The data is frozen here (a migration must not depend on files that may change); the same data, in the
format of `gridgov load-holidays`, is in gridgov/catalog/data/holidays/. 2026 comes from the State
Council General Office's notice of 4 November 2025. 2027 is provisional: the statutory holidays of the
2025 revision of the 全国年节及纪念日放假办法 (Art. 2) and the compensatory days for those falling on a
weekend (Art. 6), computed by rule; the make-up working days of 2027 await the State Council's notice, to
be loaded with `gridgov load-holidays` when it is published.
"""

import datetime as dt

from django.db import migrations

WORKING_PERIODS = [(dt.time(8, 30), dt.time(12, 0)), (dt.time(14, 30), dt.time(18, 0))]

HOLIDAYS = [
    {
        "year": 2026,
        "source": "国务院办公厅关于2026年部分节假日安排的通知（2025年11月4日） https://www.gov.cn/zhengce/content/202511/content_7047090.htm",
        "provisional": False,
        "days": [
            {"date": "2026-01-01", "kind": "holiday", "name": "元旦"},
            {"date": "2026-01-02", "kind": "holiday", "name": "元旦"},
            {"date": "2026-01-03", "kind": "holiday", "name": "元旦"},
            {"date": "2026-01-04", "kind": "workday", "name": "元旦调休上班"},
            {"date": "2026-02-14", "kind": "workday", "name": "春节调休上班"},
            {"date": "2026-02-15", "kind": "holiday", "name": "春节"},
            {"date": "2026-02-16", "kind": "holiday", "name": "春节"},
            {"date": "2026-02-17", "kind": "holiday", "name": "春节"},
            {"date": "2026-02-18", "kind": "holiday", "name": "春节"},
            {"date": "2026-02-19", "kind": "holiday", "name": "春节"},
            {"date": "2026-02-20", "kind": "holiday", "name": "春节"},
            {"date": "2026-02-21", "kind": "holiday", "name": "春节"},
            {"date": "2026-02-22", "kind": "holiday", "name": "春节"},
            {"date": "2026-02-23", "kind": "holiday", "name": "春节"},
            {"date": "2026-02-28", "kind": "workday", "name": "春节调休上班"},
            {"date": "2026-04-04", "kind": "holiday", "name": "清明节"},
            {"date": "2026-04-05", "kind": "holiday", "name": "清明节"},
            {"date": "2026-04-06", "kind": "holiday", "name": "清明节"},
            {"date": "2026-05-01", "kind": "holiday", "name": "劳动节"},
            {"date": "2026-05-02", "kind": "holiday", "name": "劳动节"},
            {"date": "2026-05-03", "kind": "holiday", "name": "劳动节"},
            {"date": "2026-05-04", "kind": "holiday", "name": "劳动节"},
            {"date": "2026-05-05", "kind": "holiday", "name": "劳动节"},
            {"date": "2026-05-09", "kind": "workday", "name": "劳动节调休上班"},
            {"date": "2026-06-19", "kind": "holiday", "name": "端午节"},
            {"date": "2026-06-20", "kind": "holiday", "name": "端午节"},
            {"date": "2026-06-21", "kind": "holiday", "name": "端午节"},
            {"date": "2026-09-20", "kind": "workday", "name": "国庆节调休上班"},
            {"date": "2026-09-25", "kind": "holiday", "name": "中秋节"},
            {"date": "2026-09-26", "kind": "holiday", "name": "中秋节"},
            {"date": "2026-09-27", "kind": "holiday", "name": "中秋节"},
            {"date": "2026-10-01", "kind": "holiday", "name": "国庆节"},
            {"date": "2026-10-02", "kind": "holiday", "name": "国庆节"},
            {"date": "2026-10-03", "kind": "holiday", "name": "国庆节"},
            {"date": "2026-10-04", "kind": "holiday", "name": "国庆节"},
            {"date": "2026-10-05", "kind": "holiday", "name": "国庆节"},
            {"date": "2026-10-06", "kind": "holiday", "name": "国庆节"},
            {"date": "2026-10-07", "kind": "holiday", "name": "国庆节"},
            {"date": "2026-10-10", "kind": "workday", "name": "国庆节调休上班"},
        ],
    },
    {
        "year": 2027,
        "source": "按《全国年节及纪念日放假办法》（2024年11月10日修订，2025年1月1日起施行）第二条、第六条推算：法定假日及其适逢周六、周日后的工作日补假；农历日期与清明节气按农历推算（除夕2月5日，清明4月5日，端午6月9日，中秋9月15日）。2027年调休上班日期须待国务院办公厅关于2027年部分节假日安排的通知发布后，用 gridgov load-holidays 载入替换。",
        "provisional": True,
        "days": [
            {"date": "2027-01-01", "kind": "holiday", "name": "元旦（按办法推算，待国务院办公厅通知）"},
            {"date": "2027-02-05", "kind": "holiday", "name": "春节（按办法推算，待国务院办公厅通知）"},
            {"date": "2027-02-06", "kind": "holiday", "name": "春节（按办法推算，待国务院办公厅通知）"},
            {"date": "2027-02-07", "kind": "holiday", "name": "春节（按办法推算，待国务院办公厅通知）"},
            {"date": "2027-02-08", "kind": "holiday", "name": "春节（按办法推算，待国务院办公厅通知）"},
            {"date": "2027-02-09", "kind": "holiday", "name": "春节补假（按办法推算，待国务院办公厅通知）"},
            {"date": "2027-02-10", "kind": "holiday", "name": "春节补假（按办法推算，待国务院办公厅通知）"},
            {"date": "2027-04-05", "kind": "holiday", "name": "清明节（按办法推算，待国务院办公厅通知）"},
            {"date": "2027-05-01", "kind": "holiday", "name": "劳动节（按办法推算，待国务院办公厅通知）"},
            {"date": "2027-05-02", "kind": "holiday", "name": "劳动节（按办法推算，待国务院办公厅通知）"},
            {"date": "2027-05-03", "kind": "holiday", "name": "劳动节补假（按办法推算，待国务院办公厅通知）"},
            {"date": "2027-05-04", "kind": "holiday", "name": "劳动节补假（按办法推算，待国务院办公厅通知）"},
            {"date": "2027-06-09", "kind": "holiday", "name": "端午节（按办法推算，待国务院办公厅通知）"},
            {"date": "2027-09-15", "kind": "holiday", "name": "中秋节（按办法推算，待国务院办公厅通知）"},
            {"date": "2027-10-01", "kind": "holiday", "name": "国庆节（按办法推算，待国务院办公厅通知）"},
            {"date": "2027-10-02", "kind": "holiday", "name": "国庆节（按办法推算，待国务院办公厅通知）"},
            {"date": "2027-10-03", "kind": "holiday", "name": "国庆节（按办法推算，待国务院办公厅通知）"},
            {"date": "2027-10-04", "kind": "holiday", "name": "国庆节补假（按办法推算，待国务院办公厅通知）"},
            {"date": "2027-10-05", "kind": "holiday", "name": "国庆节补假（按办法推算，待国务院办公厅通知）"},
        ],
    },
]


def load(apps, schema_editor):
    WorkingPeriod = apps.get_model("core", "WorkingPeriod")
    CalendarDay = apps.get_model("core", "CalendarDay")
    if not WorkingPeriod.objects.exists():
        WorkingPeriod.objects.bulk_create([WorkingPeriod(start=s, end=e) for s, e in WORKING_PERIODS])
    for year in HOLIDAYS:
        for day in year["days"]:
            CalendarDay.objects.update_or_create(
                date=dt.date.fromisoformat(day["date"]),
                defaults={
                    "kind": day["kind"],
                    "name": day["name"],
                    "source": year["source"],
                    "provisional": year["provisional"],
                },
            )


def unload(apps, schema_editor):
    CalendarDay = apps.get_model("core", "CalendarDay")
    WorkingPeriod = apps.get_model("core", "WorkingPeriod")
    dates = [dt.date.fromisoformat(d["date"]) for year in HOLIDAYS for d in year["days"]]
    CalendarDay.objects.filter(date__in=dates).delete()
    for start, end in WORKING_PERIODS:
        WorkingPeriod.objects.filter(start=start, end=end).delete()


class Migration(migrations.Migration):
    dependencies = [
        ("core", "0002_calendar_source_provisional_updated"),
    ]

    operations = [migrations.RunPython(load, unload)]
