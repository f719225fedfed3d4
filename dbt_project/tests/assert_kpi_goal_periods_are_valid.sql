-- A goal's period must end on or after it starts, or its pace divides by zero days.
-- Returns the goals whose period does not.
select goal_id, period_start, period_end
from {{ ref('kpi_goals') }}
where period_end < period_start
