"""Problems and known errors, and bugs reported to the development tracker."""
